// Embeds the widget the way a site would, with the tenant taken from the address so the same
// page serves any tenant: /demo/?tenant=ten_…[&locale=zh-CN]. A real site writes the tag itself:
//   <script src="https://HOST/widget.js" data-tenant="ten_…" async></script>
(function () {
  var q = new URLSearchParams(location.search);
  var s = document.createElement('script');
  s.src = '/widget.js';
  s.async = true;
  s.dataset.tenant = q.get('tenant') || '';
  if (q.get('locale')) s.dataset.locale = q.get('locale');
  document.head.appendChild(s);
})();
