//! Fault controls: what a test, a demo or a person at the admin endpoint can break on purpose,
//! so that every whole-run and per-record failure of the help article can be produced on demand.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Faults in force. Token and limit faults act on their own state and are not kept here.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultState {
    /// Objects the integration user may not read: queries answer 403.
    pub unreadable: BTreeSet<String>,
    /// Objects the integration user may not write: each record fails with
    /// `INSUFFICIENT_ACCESS_OR_READONLY`.
    pub readonly: BTreeSet<String>,
    /// Added before every API request is handled.
    pub latency_ms: u64,
    /// Added after an API request was handled, before its response leaves: the org has already
    /// written what the request asked, as when a response is lost or slow on its way back.
    pub response_delay_ms: u64,
    /// The next N API requests answer 500.
    pub fail_next: u32,
    /// Record ID -> how many more writes fail with `UNABLE_TO_LOCK_ROW` (`u32::MAX`: until
    /// unlocked).
    pub locked: BTreeMap<String, u32>,
    pub validation_rules: Vec<ValidationRule>,
    /// How the next Bulk API 2.0 query jobs end, one each, in order: each runs a while (it is
    /// `InProgress`), then fails or is aborted instead of completing.
    pub bulk_job_ends: VecDeque<BulkJobEnd>,
}

/// A Bulk API 2.0 query job that stops midway.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BulkJobEnd {
    /// `Failed`, with Salesforce's `errorMessage`.
    Failed { message: String },
    /// `Aborted`, as when someone stops it in Setup.
    Aborted,
}

/// A validation rule: a write whose resulting record meets `condition` on `field` is rejected
/// with `FIELD_CUSTOM_VALIDATION_EXCEPTION` and `message`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ValidationRule {
    pub object: String,
    pub field: String,
    pub condition: RuleCondition,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleCondition {
    Blank,
    Equals { value: String },
    Contains { value: String },
}

impl RuleCondition {
    pub fn holds(&self, value: Option<&str>) -> bool {
        let v = value.unwrap_or("").trim();
        match self {
            RuleCondition::Blank => v.is_empty(),
            RuleCondition::Equals { value } => v.eq_ignore_ascii_case(value),
            RuleCondition::Contains { value } => {
                v.to_ascii_lowercase().contains(&value.to_ascii_lowercase())
            }
        }
    }
}

impl ValidationRule {
    /// Reads the CLI form `Object:Field:blank:Message` or `Object:Field:equals=V:Message` or
    /// `Object:Field:contains=V:Message`.
    pub fn parse_cli(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(4, ':');
        let (Some(object), Some(field), Some(cond), Some(message)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("expected Object:Field:condition:Message, got {s:?}"));
        };
        let condition = match cond.split_once('=') {
            None if cond == "blank" => RuleCondition::Blank,
            Some(("equals", v)) => RuleCondition::Equals { value: v.to_string() },
            Some(("contains", v)) => RuleCondition::Contains { value: v.to_string() },
            _ => return Err(format!("unknown condition {cond:?} (blank, equals=V, contains=V)")),
        };
        Ok(Self {
            object: object.to_string(),
            field: field.to_string(),
            condition,
            message: message.to_string(),
        })
    }
}

/// What the admin endpoint accepts: `POST /__fake_org/faults` with `{"action": "...", ...}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FaultCommand {
    /// Invalidates every access and refresh token: refreshes fail with `invalid_grant`.
    RevokeTokens,
    /// Invalidates access tokens only, as a session timeout does: the next call gets 401 and a
    /// refresh recovers.
    ExpireSessions,
    /// Uses up the rest of the rolling 24-hour API allowance.
    ExhaustDailyLimit,
    ResetDailyLimit,
    MakeUnreadable {
        object: String,
    },
    MakeReadable {
        object: String,
    },
    MakeReadonly {
        object: String,
    },
    SetLatency {
        ms: u64,
    },
    /// Holds every API response `ms` after the request was handled (its writes are done).
    DelayResponses {
        ms: u64,
    },
    FailNext {
        count: u32,
    },
    /// Locks records for `attempts` writes (for ever if absent).
    LockRecords {
        ids: Vec<String>,
        attempts: Option<u32>,
    },
    Unlock,
    AddValidationRule {
        rule: ValidationRule,
    },
    /// The next `count` Bulk API 2.0 query jobs fail midway, with `message` as their
    /// `errorMessage`.
    FailBulkJobs {
        count: u32,
        message: Option<String>,
    },
    /// The next `count` Bulk API 2.0 query jobs are aborted midway.
    AbortBulkJobs {
        count: u32,
    },
    /// Every Bulk API 2.0 query job made so far is gone, as Salesforce's are 7 days after they
    /// were made: reading one answers 404.
    ExpireBulkJobs,
    /// Removes every fault of this struct (tokens and limits are left as they are).
    Clear,
}

impl FaultState {
    /// Applies the commands that concern this struct; returns false for the others.
    pub fn apply(&mut self, command: &FaultCommand) -> bool {
        match command {
            FaultCommand::MakeUnreadable { object } => {
                self.unreadable.insert(object.clone());
            }
            FaultCommand::MakeReadable { object } => {
                self.unreadable.remove(object);
                self.readonly.remove(object);
            }
            FaultCommand::MakeReadonly { object } => {
                self.readonly.insert(object.clone());
            }
            FaultCommand::SetLatency { ms } => self.latency_ms = *ms,
            FaultCommand::DelayResponses { ms } => self.response_delay_ms = *ms,
            FaultCommand::FailNext { count } => self.fail_next = *count,
            FaultCommand::LockRecords { ids, attempts } => {
                for id in ids {
                    self.locked.insert(id.clone(), attempts.unwrap_or(u32::MAX));
                }
            }
            FaultCommand::Unlock => self.locked.clear(),
            FaultCommand::AddValidationRule { rule } => self.validation_rules.push(rule.clone()),
            FaultCommand::FailBulkJobs { count, message } => {
                let message = message.clone().unwrap_or_else(|| {
                    "InternalServerError : Retried more than 15 times".to_string()
                });
                for _ in 0..*count {
                    self.bulk_job_ends.push_back(BulkJobEnd::Failed { message: message.clone() });
                }
            }
            FaultCommand::AbortBulkJobs { count } => {
                self.bulk_job_ends.extend((0..*count).map(|_| BulkJobEnd::Aborted));
            }
            FaultCommand::Clear => *self = FaultState::default(),
            _ => return false,
        }
        true
    }

    pub fn is_unreadable(&self, object: &str) -> bool {
        self.unreadable.iter().any(|o| o.eq_ignore_ascii_case(object))
    }

    /// Whether writes to `object` are refused (read-only, or not even readable).
    pub fn is_readonly(&self, object: &str) -> bool {
        self.readonly.iter().any(|o| o.eq_ignore_ascii_case(object)) || self.is_unreadable(object)
    }

    /// Whether a write to `id` fails because the row is locked; uses up one locked attempt.
    pub fn take_lock(&mut self, id: &str) -> bool {
        match self.locked.get_mut(id) {
            Some(0) | None => false,
            Some(n) => {
                if *n != u32::MAX {
                    *n -= 1;
                }
                true
            }
        }
    }

    /// Whether this request should fail with 500; uses up one.
    pub fn take_failure(&mut self) -> bool {
        if self.fail_next > 0 {
            self.fail_next -= 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_their_json_form() {
        let c: FaultCommand = serde_json::from_str(r#"{"action":"fail_next","count":3}"#).unwrap();
        assert_eq!(c, FaultCommand::FailNext { count: 3 });
        let c: FaultCommand = serde_json::from_str(
            r#"{"action":"add_validation_rule","rule":{"object":"Lead","field":"Title","condition":{"kind":"equals","value":"CEO"},"message":"No CEOs"}}"#,
        )
        .unwrap();
        let mut f = FaultState::default();
        assert!(f.apply(&c));
        assert!(f.validation_rules[0].condition.holds(Some("ceo")));
        assert!(!f.apply(&FaultCommand::RevokeTokens));
    }

    #[test]
    fn locks_and_failures_are_used_up() {
        let mut f = FaultState::default();
        f.apply(&FaultCommand::LockRecords { ids: vec!["x".into()], attempts: Some(2) });
        f.apply(&FaultCommand::FailNext { count: 1 });
        assert_eq!((f.take_lock("x"), f.take_lock("x"), f.take_lock("x")), (true, true, false));
        assert_eq!((f.take_failure(), f.take_failure()), (true, false));
    }

    #[test]
    fn cli_rules_parse() {
        let r =
            ValidationRule::parse_cli("Lead:Email:contains=@test.:Test addresses are not allowed")
                .unwrap();
        assert_eq!(r.condition, RuleCondition::Contains { value: "@test.".into() });
        assert_eq!(r.message, "Test addresses are not allowed");
        assert!(ValidationRule::parse_cli("Lead:Email").is_err());
    }
}
