//! Who can take conversations: teams, agents' routing profiles (skills with levels, languages,
//! capacity per channel) and presence.
//!
//! These are the stored records the console edits. Presence as stored is what the console last
//! reported plus when the agent was last seen; [`Presence::effective`] turns that into the status
//! routing uses at a given instant, so an agent who closed the laptop drifts to away and then
//! offline without anyone writing to storage.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::assign::{Strategy, StrategyError};
use super::names::{is_slug, normalize_language};
use crate::ids::AgentId;
use crate::model::ChannelKind;

/// Most members a team may have.
pub const MAX_TEAM_MEMBERS: usize = 500;
/// Most skills an agent may list.
pub const MAX_SKILLS: usize = 50;
/// Most languages an agent may list.
pub const MAX_LANGUAGES: usize = 20;
/// Skill levels run from 1 (basic) to this (expert).
pub const MAX_SKILL_LEVEL: u8 = 5;
/// Highest capacity on one channel: beyond this nobody is really answering.
pub const MAX_CAPACITY: u32 = 100;
/// Longest team name.
pub const MAX_TEAM_NAME_CHARS: usize = 200;

/// Why a team, profile or presence setting is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    #[error("team id `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidTeamId(String),
    #[error("team `{0}` needs a name of at most {MAX_TEAM_NAME_CHARS} characters")]
    InvalidTeamName(String),
    #[error("team `{team}` lists agent {agent} twice")]
    DuplicateMember { team: String, agent: AgentId },
    #[error("team `{0}` has more than {MAX_TEAM_MEMBERS} members")]
    TooManyMembers(String),
    #[error("team `{team}`: {source}")]
    InvalidStrategy { team: String, source: StrategyError },
    #[error("two teams have the id `{0}`")]
    DuplicateTeam(String),
    #[error("skill tag `{0}` must be 1-64 characters of a-z, 0-9, `-` and `_`")]
    InvalidSkillTag(String),
    #[error("skill `{tag}` has level {level}; levels run from 1 to {MAX_SKILL_LEVEL}")]
    SkillLevelOutOfRange { tag: String, level: u8 },
    #[error("skill `{0}` is listed twice")]
    DuplicateSkill(String),
    #[error("more than {MAX_SKILLS} skills")]
    TooManySkills,
    #[error("`{0}` is not a language tag such as `en` or `pt-BR`")]
    InvalidLanguage(String),
    #[error("language `{0}` is listed twice")]
    DuplicateLanguage(String),
    #[error("more than {MAX_LANGUAGES} languages")]
    TooManyLanguages,
    #[error("capacity {0} is above the limit of {MAX_CAPACITY} open conversations")]
    CapacityTooLarge(u32),
    #[error("the idle timeouts must be positive and away must come before offline")]
    InvalidIdleTimeouts,
}

fn check_team_id(id: &str) -> Result<(), RosterError> {
    if is_slug(id) {
        Ok(())
    } else {
        Err(RosterError::InvalidTeamId(id.to_owned()))
    }
}

/// A group of agents that conversations can be routed to, e.g. `finance` or `emergency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// A slug, e.g. `finance`; conversations and tickets name their team by it.
    pub id: String,
    pub name: String,
    pub members: Vec<AgentId>,
    /// How conversations handed to the team as a whole (by an automation rule or a manual
    /// "assign to team") pick a member. Routing rules name their own strategy.
    #[serde(default)]
    pub strategy: Strategy,
}

impl Team {
    pub fn validate(&self) -> Result<(), RosterError> {
        check_team_id(&self.id)?;
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_TEAM_NAME_CHARS {
            return Err(RosterError::InvalidTeamName(self.id.clone()));
        }
        if self.members.len() > MAX_TEAM_MEMBERS {
            return Err(RosterError::TooManyMembers(self.id.clone()));
        }
        let mut seen = BTreeSet::new();
        for member in &self.members {
            if !seen.insert(member) {
                return Err(RosterError::DuplicateMember {
                    team: self.id.clone(),
                    agent: *member,
                });
            }
        }
        self.strategy
            .validate()
            .map_err(|source| RosterError::InvalidStrategy {
                team: self.id.clone(),
                source,
            })
    }

    pub fn has_member(&self, agent: AgentId) -> bool {
        self.members.contains(&agent)
    }
}

/// Validates a tenant's teams together: each team, and unique ids.
pub fn validate_teams(teams: &[Team]) -> Result<(), RosterError> {
    let mut ids = BTreeSet::new();
    for team in teams {
        team.validate()?;
        if !ids.insert(team.id.as_str()) {
            return Err(RosterError::DuplicateTeam(team.id.clone()));
        }
    }
    Ok(())
}

/// Something an agent knows, and how well: `{"tag": "refunds", "level": 3}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skill {
    pub tag: String,
    /// 1 (basic) to [`MAX_SKILL_LEVEL`] (expert).
    pub level: u8,
}

impl Skill {
    pub fn validate(&self) -> Result<(), RosterError> {
        if !is_slug(&self.tag) {
            return Err(RosterError::InvalidSkillTag(self.tag.clone()));
        }
        if !(1..=MAX_SKILL_LEVEL).contains(&self.level) {
            return Err(RosterError::SkillLevelOutOfRange {
                tag: self.tag.clone(),
                level: self.level,
            });
        }
        Ok(())
    }
}

/// How many conversations an agent handles at once: a default for every channel and
/// per-channel overrides, e.g. three chats on the web but ten emails. A limit of 0 keeps the
/// agent off that channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    #[serde(default = "Capacity::default_limit")]
    pub default: u32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_channel: BTreeMap<ChannelKind, u32>,
}

impl Capacity {
    /// The limit an agent gets when nobody configured one: a common chat concurrency.
    pub const DEFAULT_LIMIT: u32 = 3;

    fn default_limit() -> u32 {
        Self::DEFAULT_LIMIT
    }

    /// The same limit on every channel.
    pub fn uniform(limit: u32) -> Self {
        Capacity {
            default: limit,
            per_channel: BTreeMap::new(),
        }
    }

    /// Most open conversations on `channel`.
    pub fn limit(&self, channel: ChannelKind) -> u32 {
        self.per_channel
            .get(&channel)
            .copied()
            .unwrap_or(self.default)
    }

    pub fn validate(&self) -> Result<(), RosterError> {
        match std::iter::once(self.default)
            .chain(self.per_channel.values().copied())
            .find(|&limit| limit > MAX_CAPACITY)
        {
            Some(limit) => Err(RosterError::CapacityTooLarge(limit)),
            None => Ok(()),
        }
    }
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity::uniform(Self::DEFAULT_LIMIT)
    }
}

/// What routing knows about one agent besides presence and load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentProfile {
    pub agent_id: AgentId,
    #[serde(default)]
    pub skills: Vec<Skill>,
    /// Language tags the agent answers in, e.g. `["en", "de"]`; matched on the primary language.
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub capacity: Capacity,
}

impl AgentProfile {
    /// A profile with no skills or languages and the default capacity.
    pub fn new(agent_id: AgentId) -> Self {
        AgentProfile {
            agent_id,
            skills: Vec::new(),
            languages: Vec::new(),
            capacity: Capacity::default(),
        }
    }

    /// Checks the profile and brings language tags into canonical form (`pt-BR` → `pt-br`),
    /// so later comparisons are plain string equality.
    pub fn normalized(mut self) -> Result<Self, RosterError> {
        if self.skills.len() > MAX_SKILLS {
            return Err(RosterError::TooManySkills);
        }
        let mut tags = BTreeSet::new();
        for skill in &self.skills {
            skill.validate()?;
            if !tags.insert(skill.tag.as_str()) {
                return Err(RosterError::DuplicateSkill(skill.tag.clone()));
            }
        }
        if self.languages.len() > MAX_LANGUAGES {
            return Err(RosterError::TooManyLanguages);
        }
        let mut languages = Vec::with_capacity(self.languages.len());
        for tag in &self.languages {
            let normal =
                normalize_language(tag).ok_or_else(|| RosterError::InvalidLanguage(tag.clone()))?;
            if languages.contains(&normal) {
                return Err(RosterError::DuplicateLanguage(normal));
            }
            languages.push(normal);
        }
        self.languages = languages;
        self.capacity.validate()?;
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), RosterError> {
        self.clone().normalized().map(drop)
    }

    /// The agent's level in `tag`, if they have the skill.
    pub fn skill_level(&self, tag: &str) -> Option<u8> {
        self.skills.iter().find(|s| s.tag == tag).map(|s| s.level)
    }

    /// Whether the agent speaks the primary language of `tag` (`pt-BR` → Portuguese).
    pub fn speaks(&self, tag: &str) -> bool {
        let Some(wanted) = super::names::primary_language(tag) else {
            return false;
        };
        self.languages
            .iter()
            .filter_map(|l| super::names::primary_language(l))
            .any(|l| l == wanted)
    }
}

/// An agent's availability.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    /// Takes new conversations.
    Online,
    /// Keeps their conversations but takes no new ones.
    Away,
    /// Takes nothing.
    #[default]
    Offline,
}

/// When an idle agent is shown away, then offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleTimeouts {
    /// An online agent not seen for this long counts as away.
    pub away_after_seconds: u32,
    /// Any agent not seen for this long counts as offline.
    pub offline_after_seconds: u32,
}

impl Default for IdleTimeouts {
    /// Away after 5 minutes, offline after 30. The console reports activity every minute or so,
    /// so 5 minutes of silence means the agent stepped away or the tab was closed.
    fn default() -> Self {
        IdleTimeouts {
            away_after_seconds: 5 * 60,
            offline_after_seconds: 30 * 60,
        }
    }
}

impl IdleTimeouts {
    pub fn validate(&self) -> Result<(), RosterError> {
        if self.away_after_seconds == 0 || self.offline_after_seconds < self.away_after_seconds {
            return Err(RosterError::InvalidIdleTimeouts);
        }
        Ok(())
    }
}

/// An agent's presence as stored: the status they chose and when the console last heard from
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    pub status: PresenceStatus,
    pub last_seen: DateTime<Utc>,
}

impl Presence {
    /// The status at `now`: the chosen status, downgraded by idleness. An online agent idle
    /// past `away_after` is away; anyone idle past `offline_after` is offline. Idleness never
    /// upgrades a status, and a `last_seen` in the future (clock skew between edge nodes)
    /// counts as seen just now.
    pub fn effective(&self, now: DateTime<Utc>, timeouts: &IdleTimeouts) -> PresenceStatus {
        let idle = (now - self.last_seen).max(TimeDelta::zero());
        if idle >= TimeDelta::seconds(i64::from(timeouts.offline_after_seconds)) {
            return PresenceStatus::Offline;
        }
        match self.status {
            PresenceStatus::Online
                if idle >= TimeDelta::seconds(i64::from(timeouts.away_after_seconds)) =>
            {
                PresenceStatus::Away
            }
            status => status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(n: u64) -> AgentId {
        AgentId::from_parts(1_700_000_000_000 + n, u128::from(n))
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("test timestamp")
    }

    #[test]
    fn an_online_agent_drifts_to_away_and_then_offline_when_idle() {
        let timeouts = IdleTimeouts::default();
        let presence = Presence {
            status: PresenceStatus::Online,
            last_seen: at("2024-05-13T09:00:00Z"),
        };
        let cases = [
            ("2024-05-13T09:00:00Z", PresenceStatus::Online),
            ("2024-05-13T09:04:59Z", PresenceStatus::Online),
            ("2024-05-13T09:05:00Z", PresenceStatus::Away),
            ("2024-05-13T09:29:59Z", PresenceStatus::Away),
            ("2024-05-13T09:30:00Z", PresenceStatus::Offline),
            // Clock skew: seen "in the future" counts as seen now.
            ("2024-05-13T08:00:00Z", PresenceStatus::Online),
        ];
        for (now, expected) in cases {
            assert_eq!(presence.effective(at(now), &timeouts), expected, "at {now}");
        }
    }

    #[test]
    fn idleness_never_upgrades_a_chosen_status() {
        let timeouts = IdleTimeouts::default();
        let seen = at("2024-05-13T09:00:00Z");
        let away = Presence {
            status: PresenceStatus::Away,
            last_seen: seen,
        };
        let offline = Presence {
            status: PresenceStatus::Offline,
            last_seen: seen,
        };
        assert_eq!(away.effective(seen, &timeouts), PresenceStatus::Away);
        assert_eq!(offline.effective(seen, &timeouts), PresenceStatus::Offline);
        assert_eq!(
            away.effective(at("2024-05-13T10:00:00Z"), &timeouts),
            PresenceStatus::Offline
        );
    }

    #[test]
    fn idle_timeouts_must_be_ordered() {
        assert!(IdleTimeouts::default().validate().is_ok());
        let reversed = IdleTimeouts {
            away_after_seconds: 600,
            offline_after_seconds: 60,
        };
        assert_eq!(reversed.validate(), Err(RosterError::InvalidIdleTimeouts));
    }

    #[test]
    fn capacity_falls_back_to_the_default_for_unlisted_channels() {
        let capacity: Capacity =
            serde_json::from_value(serde_json::json!({"default": 2, "per_channel": {"email": 10}}))
                .expect("capacity");
        assert_eq!(capacity.limit(ChannelKind::Email), 10);
        assert_eq!(capacity.limit(ChannelKind::Web), 2);
        let round_trip: Capacity =
            serde_json::from_value(serde_json::to_value(&capacity).expect("json")).expect("back");
        assert_eq!(round_trip, capacity);
        assert_eq!(
            Capacity::uniform(MAX_CAPACITY + 1).validate(),
            Err(RosterError::CapacityTooLarge(MAX_CAPACITY + 1))
        );
    }

    #[test]
    fn a_profile_normalizes_languages_and_refuses_bad_skills() {
        let mut profile = AgentProfile::new(agent(1));
        profile.languages = vec!["EN".into(), "pt-BR".into()];
        profile.skills = vec![Skill {
            tag: "refunds".into(),
            level: 3,
        }];
        let profile = profile.normalized().expect("valid");
        assert_eq!(profile.languages, ["en", "pt-br"]);
        assert!(profile.speaks("pt-PT"));
        assert!(profile.speaks("en-GB"));
        assert!(!profile.speaks("de"));
        assert_eq!(profile.skill_level("refunds"), Some(3));

        let mut bad = profile.clone();
        bad.skills[0].level = 0;
        assert!(matches!(
            bad.validate(),
            Err(RosterError::SkillLevelOutOfRange { .. })
        ));
        let mut bad = profile.clone();
        bad.languages.push("en-US".into());
        assert_eq!(
            bad.validate(),
            Ok(()),
            "a regional variant is a distinct tag"
        );
        bad.languages.push("EN".into());
        assert_eq!(
            bad.validate(),
            Err(RosterError::DuplicateLanguage("en".into()))
        );
        let mut bad = profile;
        bad.languages.push("klingon".into());
        assert_eq!(
            bad.validate(),
            Err(RosterError::InvalidLanguage("klingon".into()))
        );
    }

    #[test]
    fn teams_need_slug_ids_and_distinct_members() {
        let team = Team {
            id: "finance".into(),
            name: "Finance".into(),
            members: vec![agent(1), agent(2)],
            strategy: Strategy::RoundRobin,
        };
        assert!(validate_teams(std::slice::from_ref(&team)).is_ok());
        assert_eq!(
            validate_teams(&[team.clone(), team.clone()]),
            Err(RosterError::DuplicateTeam("finance".into()))
        );
        let mut bad = team.clone();
        bad.members.push(agent(1));
        assert!(matches!(
            bad.validate(),
            Err(RosterError::DuplicateMember { .. })
        ));
        let mut bad = team;
        bad.id = "Finance Team".into();
        assert!(matches!(bad.validate(), Err(RosterError::InvalidTeamId(_))));
    }
}
