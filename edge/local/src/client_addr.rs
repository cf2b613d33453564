//! The address a request comes from, for limits kept per client (waiting long-polls): the TCP
//! peer, or — when the peer is a proxy the operator trusts (`--trusted-proxy`) — the nearest
//! address in `X-Forwarded-For` that is not one of those proxies. Without trusted proxies the
//! header is ignored: any client can write it, and the limit would be theirs to pick.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The client's address: `peer`, or what trusted proxies in front of it say.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it was reached from: read from the nearest hop back,
    // and stop at the first that is not a trusted proxy (what is left of it, anyone wrote).
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(ip) = parse(hop) else {
            // A hop we cannot read: the last one we could is as far as we can trust.
            return client;
        };
        client = ip;
        if !trusted.contains(&ip) {
            return ip;
        }
    }
    client
}

/// A hop as proxies write it: an address, an address with a port, or `[v6]:port`.
fn parse(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(client_ip(ip("198.51.100.1"), &h, &[]), ip("198.51.100.1"));
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        // A client that wrote its own header: what it wrote stays to the left of its address.
        let h = headers(&["6.6.6.6, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &proxies), ip("203.0.113.7"));
        let h = headers(&["[2001:db8::5]:4711, 203.0.113.7:5000"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &proxies), ip("203.0.113.7"));
    }

    #[test]
    fn a_request_from_an_untrusted_peer_is_that_peers_whatever_it_claims() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &h, &[ip("10.0.0.1")]),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn an_unreadable_or_missing_hop_stops_at_the_last_address_read() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let h = headers(&["garbage, 10.0.0.2"]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &proxies), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &proxies),
            ip("10.0.0.1")
        );
    }
}
