//! Demo history: fills an empty workspace with a realistic 14-day history through the same store
//! API the engine writes with. Off by default; `--demo-history` switches it on.

use app::domain::{
    Direction, ObjectType, RecordAction, RecordMessage, RecordStatus, RunFailure, RunMessage,
    Trigger,
};
use app::state::AppState;
use app::store::{self, NewRecord, NewRun};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const INBOUND: [ObjectType; 6] = [
    ObjectType::Contact,
    ObjectType::Lead,
    ObjectType::Company,
    ObjectType::Opportunity,
    ObjectType::OpportunityContactRole,
    ObjectType::Event,
];
const OUTBOUND: [ObjectType; 3] = [ObjectType::Contact, ObjectType::Lead, ObjectType::Company];

/// Seeds a 14-day history if the workspace has none (`--demo-history`: screenshots and the
/// browser tests' paging). Live activity comes from the sync engine, not from here.
pub async fn seed_if_empty(state: &AppState, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    match store::workspace_has_runs(&state.pool, &state.workspace).await {
        Ok(false) => match seed_history(state, &mut rng).await {
            Ok(()) => tracing::info!("demo history seeded"),
            Err(e) => tracing::error!(error = %e, "demo history could not be written"),
        },
        Ok(true) => {}
        Err(e) => tracing::error!(error = %e, "demo could not read the workspace"),
    }
}

/// Two weeks of history: the first backfill of every object type, then scheduled inbound runs,
/// outbound pushes, and failed runs of every whole-run reason.
async fn seed_history(state: &AppState, rng: &mut StdRng) -> Result<(), store::StoreError> {
    let now = state.now_ms();
    let start = now - 14 * DAY;
    let backfill_sizes: [(ObjectType, i64); 6] = [
        (ObjectType::Company, 9_812),
        (ObjectType::Contact, 68_240),
        (ObjectType::Lead, 23_100),
        (ObjectType::Opportunity, 4_210),
        (ObjectType::OpportunityContactRole, 6_034),
        (ObjectType::Event, 31_500),
    ];
    let mut t = start;
    for (object, size) in backfill_sizes {
        let mut left = size;
        while left > 0 {
            let batch = left.min(50_000);
            let took = batch * 2 + rng.gen_range(2_000..9_000);
            write_run(
                state,
                rng,
                Direction::Inbound,
                object,
                Trigger::Backfill,
                t,
                took,
                batch,
                None,
            )
            .await?;
            t += took + rng.gen_range(1_000..5_000);
            left -= batch;
        }
    }

    // Steady state: each inbound object every ~2 hours, outbound pushes through working hours.
    let mut t = start + 3 * HOUR;
    let mut n: u64 = 0;
    while t < now - 2 * 60_000 {
        n += 1;
        for (i, object) in INBOUND.iter().enumerate() {
            if n.is_multiple_of(2) && i % 2 == 1 {
                continue;
            }
            let at = t + i as i64 * 45_000 + rng.gen_range(0..20_000);
            let size = rng.gen_range(3..420);
            let failure = seeded_failure(rng, n, i);
            let took = if failure.is_some() {
                rng.gen_range(400..2_500)
            } else {
                size * 6 + rng.gen_range(300..3_000)
            };
            write_run(
                state,
                rng,
                Direction::Inbound,
                *object,
                Trigger::Scheduled,
                at,
                took,
                size,
                failure,
            )
            .await?;
        }
        for _ in 0..rng.gen_range(1..4) {
            let object = OUTBOUND[rng.gen_range(0..OUTBOUND.len())];
            let at = t + rng.gen_range(5 * 60_000..100 * 60_000);
            if at >= now - 60_000 {
                continue;
            }
            let size = rng.gen_range(1..60);
            let failure = (rng.gen_ratio(1, 60)).then(|| RunFailure {
                message: RunMessage::AuthenticationFailure,
                detail:
                    "POST /services/oauth2/token: 400 invalid_grant (expired access/refresh token)"
                        .into(),
            });
            let took = rng.gen_range(250..2_400);
            write_run(
                state,
                rng,
                Direction::Outbound,
                object,
                Trigger::Push,
                at,
                took,
                size,
                failure,
            )
            .await?;
        }
        t += 2 * HOUR;
    }
    // A large scheduled sync split into several batches of up to ~5,000, and a manual run.
    let mut at = now - 5 * HOUR;
    for size in [5_000, 5_000, 5_000, 1_873] {
        write_run(
            state,
            rng,
            Direction::Inbound,
            ObjectType::Contact,
            Trigger::Scheduled,
            at,
            size * 3,
            size,
            None,
        )
        .await?;
        at += size * 3 + 1_500;
    }
    write_run(
        state,
        rng,
        Direction::Inbound,
        ObjectType::Company,
        Trigger::Manual,
        now - 3 * HOUR,
        4_100,
        212,
        None,
    )
    .await?;
    Ok(())
}

/// Every whole-run reason appears in the history, a few times each.
fn seeded_failure(rng: &mut StdRng, n: u64, i: usize) -> Option<RunFailure> {
    if !rng.gen_ratio(1, 25) {
        return None;
    }
    let (message, detail) = match (n as usize + i) % 4 {
        0 => (RunMessage::AuthenticationFailure, "GET /services/data/v62.0/query: 401 INVALID_SESSION_ID; refresh failed: 400 invalid_grant (expired access/refresh token)"),
        1 => (RunMessage::InsufficientPermissions, "GET /services/data/v62.0/query: 403 INSUFFICIENT_ACCESS (sObject type 'OpportunityContactRole' is not supported)"),
        2 => (RunMessage::ApiLimitExceeded, "GET /services/data/v62.0/query: 403 REQUEST_LIMIT_EXCEEDED (TotalRequests Limit exceeded)"),
        _ => (RunMessage::UnknownError, "GET /services/data/v62.0/query: 500 UNKNOWN_EXCEPTION"),
    };
    Some(RunFailure { message, detail: detail.into() })
}

/// Writes one finished run through the store API, records in pages like the engine does.
#[allow(clippy::too_many_arguments)]
async fn write_run(
    state: &AppState,
    rng: &mut StdRng,
    direction: Direction,
    object: ObjectType,
    trigger: Trigger,
    started_at: i64,
    took: i64,
    size: i64,
    failure: Option<RunFailure>,
) -> Result<(), store::StoreError> {
    let ws = &state.workspace;
    let expected_total = (direction == Direction::Inbound).then_some(size);
    let id = store::begin_run(
        &state.pool,
        ws,
        &NewRun { direction, object_type: object, trigger, started_at, expected_total },
    )
    .await?;
    if let Some(failure) = failure {
        store::fail_run(&state.pool, ws, id, started_at + took, &failure).await?;
        return Ok(());
    }
    let mut left = size;
    while left > 0 {
        let page = left.min(2_000);
        let records: Vec<NewRecord> =
            (0..page).map(|_| fake_record(rng, direction, object, started_at)).collect();
        store::append_records(&state.pool, ws, id, &records).await?;
        left -= page;
    }
    store::finish_run(&state.pool, ws, id, started_at + took).await?;
    Ok(())
}

/// The messages a record of this kind can plausibly carry, skipped ones first.
fn messages_for(
    direction: Direction,
    object: ObjectType,
) -> (&'static [RecordMessage], &'static [RecordMessage]) {
    use RecordMessage::*;
    match (direction, object) {
        (Direction::Outbound, _) => (
            &[ObjectWriteDisabled, NoFieldsToUpdate],
            &[
                InsufficientPermissions,
                RequiredFieldMissing,
                InvalidPicklistValue,
                FieldLengthExceeded,
                ValidationRuleFailure,
                RecordLocked,
                InvalidCrossReference,
                DuplicateRecord,
                OutboundUnknownError,
            ],
        ),
        (_, ObjectType::Contact) => (
            &[
                MissingEmail,
                InvalidEmail,
                DoNotSync,
                MissingExternalId,
                OutdatedRecord,
                WriteModeMismatch,
                UnknownSkipReason,
            ],
            &[MalformedData, EncodeFailed, InvalidTimestamp, InboundUnknownError],
        ),
        (_, ObjectType::Lead) => (
            &[MissingEmail, InvalidEmail, LeadConverted, DoNotSync, OutdatedRecord],
            &[MalformedData, InvalidTimestamp],
        ),
        (_, ObjectType::Company) => (
            &[DoNotSync, MissingExternalId, OutdatedRecord, WriteModeMismatch],
            &[MalformedData, EncodeFailed],
        ),
        (_, ObjectType::Opportunity) => {
            (&[NoAccountAssociation, OutdatedRecord], &[MalformedData, InvalidTimestamp])
        }
        (_, ObjectType::OpportunityContactRole) => {
            (&[OpportunityNotFound, ContactNotFound, MissingIdentifier], &[MalformedData])
        }
        (_, ObjectType::Event) => (
            &[MissingIdentifier, ContactNotFound, ConflictingIdentifier, MissingEventName],
            &[InvalidTimestamp, EncodeFailed, InboundUnknownError],
        ),
    }
}

const FIRST: [&str; 16] = [
    "Ava", "Noah", "Mia", "Liam", "Zoe", "Ethan", "Isla", "Omar", "Priya", "Chen", "Lucas",
    "Sofia", "Mateo", "Hana", "Jonas", "Amara",
];
const LAST: [&str; 16] = [
    "Patel",
    "Nguyen",
    "Garcia",
    "Smith",
    "Kowalski",
    "Okafor",
    "Rossi",
    "Tanaka",
    "Müller",
    "Silva",
    "Haddad",
    "Johansson",
    "Kim",
    "Dubois",
    "Brown",
    "Ali",
];
const COMPANIES: [&str; 12] = [
    "Northwind Traders",
    "Globex",
    "Initech",
    "Umbrella Health",
    "Stark Logistics",
    "Wayne Foods",
    "Acme Robotics",
    "Hooli",
    "Vandelay Imports",
    "Soylent Labs",
    "Cyberdyne",
    "Tyrell Systems",
];
const EVENTS: [&str; 6] = [
    "Webinar attended",
    "Demo requested",
    "Trial started",
    "Pricing page viewed",
    "Invoice paid",
    "Support ticket opened",
];

fn fake_record(rng: &mut StdRng, direction: Direction, object: ObjectType, at: i64) -> NewRecord {
    let roll = rng.gen_range(0..100);
    let (skips, fails) = messages_for(direction, object);
    let (status, message) = match roll {
        0..=7 => (RecordStatus::Skipped, Some(skips[rng.gen_range(0..skips.len())])),
        8..=10 => (RecordStatus::Failed, Some(fails[rng.gen_range(0..fails.len())])),
        _ => (RecordStatus::Success, None),
    };
    let action = match rng.gen_range(0..100) {
        0..=29 => RecordAction::Created,
        30..=94 => RecordAction::Updated,
        _ => RecordAction::Deleted,
    };
    let first = FIRST[rng.gen_range(0..FIRST.len())];
    let last = LAST[rng.gen_range(0..LAST.len())];
    let label = match object {
        ObjectType::Contact | ObjectType::Lead => format!(
            "{first} {last} <{}.{}@{}.example>",
            first.to_lowercase(),
            last.to_lowercase(),
            COMPANIES[rng.gen_range(0..COMPANIES.len())]
                .split(' ')
                .next()
                .unwrap_or("mail")
                .to_lowercase()
        ),
        ObjectType::Company => COMPANIES[rng.gen_range(0..COMPANIES.len())].to_string(),
        ObjectType::Opportunity => format!(
            "{} — {} seats",
            COMPANIES[rng.gen_range(0..COMPANIES.len())],
            rng.gen_range(5..500)
        ),
        ObjectType::OpportunityContactRole => {
            format!("{first} {last} on {}", COMPANIES[rng.gen_range(0..COMPANIES.len())])
        }
        ObjectType::Event => format!("{} · {first} {last}", EVENTS[rng.gen_range(0..EVENTS.len())]),
    };
    let missing_sf_id = message == Some(RecordMessage::MissingExternalId);
    let prefix = match object {
        ObjectType::Contact => "003",
        ObjectType::Lead => "00Q",
        ObjectType::Company => "001",
        ObjectType::Opportunity => "006",
        ObjectType::OpportunityContactRole => "00K",
        ObjectType::Event => "a0B",
    };
    let updated = at - rng.gen_range(1_000..30 * DAY);
    let created = updated - rng.gen_range(0..400 * DAY);
    NewRecord {
        status,
        action,
        message,
        detail: message.and_then(|m| technical_detail(m).map(str::to_string)),
        salesforce_id: (!missing_sf_id).then(|| salesforce_id(rng, prefix)),
        conversion_id: (status == RecordStatus::Success || direction == Direction::Outbound).then(
            || format!("{}_{:010x}", &object.as_str()[..3], rng.gen::<u64>() & 0xff_ffff_ffff),
        ),
        label: Some(label),
        external_created_at: (message != Some(RecordMessage::InvalidTimestamp)).then_some(created),
        external_updated_at: (message != Some(RecordMessage::InvalidTimestamp)).then_some(updated),
    }
}

fn technical_detail(m: RecordMessage) -> Option<&'static str> {
    use RecordMessage::*;
    Some(match m {
        InvalidEmail => "Email: \"jane@@example\" is not a valid address",
        RequiredFieldMissing => "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]",
        InvalidPicklistValue => "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Lead Source: bad value for restricted picklist field: Podcast",
        FieldLengthExceeded => "STRING_TOO_LONG: Title: data value too large (max length=128)",
        ValidationRuleFailure => "FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone must include a country code",
        RecordLocked => "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record (after 3 attempts)",
        InvalidCrossReference => "INVALID_CROSS_REFERENCE_KEY: invalid cross reference id (AccountId)",
        DuplicateRecord => "DUPLICATES_DETECTED: Use one of these records? (Standard Contact Duplicate Rule)",
        InsufficientPermissions => "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id",
        MalformedData => "Field AnnualRevenue: expected a number, found \"n/a\"",
        InvalidTimestamp => "LastModifiedDate: \"2024-13-45T99:00:00.000+0000\" is not a valid datetime",
        EncodeFailed => "Description contains an unpaired UTF-16 surrogate",
        _ => return None,
    })
}

/// An 18-character Salesforce ID with a valid case-safe suffix.
fn salesforce_id(rng: &mut StdRng, prefix: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id15 = String::from(prefix);
    id15.push_str("5g");
    while id15.len() < 15 {
        id15.push(CHARS[rng.gen_range(0..CHARS.len())] as char);
    }
    let suffix: String = id15
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .fold(0usize, |acc, (i, c)| acc | (usize::from(c.is_ascii_uppercase()) << i));
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits] as char
        })
        .collect();
    id15 + &suffix
}
