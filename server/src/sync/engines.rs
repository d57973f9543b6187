//! The engines of the server's workspaces: one [`Engine`] per workspace, each with its own
//! Salesforce client (its own refresh token and session), its own loops (inbound schedule,
//! outbound pushes, API usage) and its own pauses, so that one workspace's revoked token,
//! exceeded limit or 50,000-record backfill never stalls another's.
//!
//! An engine is started when its workspace is first needed (at start for every workspace in the
//! database; later for one added while the server runs) and stopped with the server.

use super::{connection, scheduler, usage, Engine, EngineConfig};
use crate::salesforce::{ClientConfig, SalesforceClient};
use app::state::Clock;
use app::store::wakeups::{self, Wakeup};
use app::store::Db;
use app::store::{self, StorageHealth, WorkspaceId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the Rate limits figures are saved when Salesforce reports new ones.
const USAGE_EVERY: Duration = Duration::from_secs(2);

/// Where each workspace's engine finds its Salesforce org.
pub enum OrgSource {
    /// No org: the server only shows what is in the database (no engine at all).
    None,
    /// Real Salesforce through the server's connected app. Each workspace connects its own org
    /// (Connect on its Overview); `refresh_token` (from `--salesforce-refresh-token`) is the first
    /// workspace's.
    Salesforce { client: Box<ClientConfig>, refresh_token: Option<(WorkspaceId, String)> },
    /// The demo: a local org of its own for each workspace, in-process.
    #[cfg(feature = "local-org")]
    Local(LocalOrgs),
}

/// How the demo makes each workspace's local org and what runs beside it.
#[cfg(feature = "local-org")]
pub struct LocalOrgs {
    pub org: crate::fake_org::OrgConfig,
    /// The first workspace (`--workspace`): its org is made from the seed as given; the others'
    /// from the seed mixed with their id, so each holds other people and companies.
    pub first: WorkspaceId,
    /// Conversion's simulated changes per minute in each workspace (0: none).
    pub changes_per_minute: u32,
}

/// The server's engines, by workspace. Cheap to clone.
#[derive(Clone)]
pub struct Engines {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Db,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    source: OrgSource,
    storage: StorageHealth,
    shutdown: CancellationToken,
    engines: Mutex<HashMap<WorkspaceId, Engine>>,
    /// Serialises starts, so that two requests for a new workspace start one engine.
    starting: tokio::sync::Mutex<()>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    #[cfg(feature = "local-org")]
    orgs: Mutex<Vec<(WorkspaceId, crate::fake_org::FakeOrg)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub type StartError = Box<dyn std::error::Error + Send + Sync>;

impl Engines {
    pub fn new(
        pool: Db,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        source: OrgSource,
        storage: StorageHealth,
        shutdown: CancellationToken,
    ) -> Engines {
        Engines {
            inner: Arc::new(Inner {
                pool,
                clock,
                config,
                source,
                storage,
                shutdown,
                engines: Mutex::default(),
                starting: tokio::sync::Mutex::new(()),
                tasks: Mutex::default(),
                #[cfg(feature = "local-org")]
                orgs: Mutex::default(),
            }),
        }
    }

    /// A registry of engines made elsewhere (tests): only these, none started on demand.
    pub fn of(engines: impl IntoIterator<Item = Engine>) -> Engines {
        let first = engines.into_iter().collect::<Vec<_>>();
        let pool = first.first().map(|e| e.pool().clone());
        let registry = Engines::new(
            pool.unwrap_or_else(|| {
                app::store::Db::Sqlite(
                    sqlx::SqlitePool::connect_lazy("sqlite::memory:").expect("an in-memory pool"),
                )
            }),
            Arc::new(app::state::SystemClock),
            EngineConfig::default(),
            OrgSource::None,
            StorageHealth::default(),
            CancellationToken::new(),
        );
        for engine in first {
            lock(&registry.inner.engines).insert(engine.workspace().clone(), engine);
        }
        registry
    }

    /// The workspace's engine when it runs.
    pub fn get(&self, ws: &WorkspaceId) -> Option<Engine> {
        lock(&self.inner.engines).get(ws).cloned()
    }

    /// Every running engine.
    pub fn all(&self) -> Vec<Engine> {
        lock(&self.inner.engines).values().cloned().collect()
    }

    /// The workspace's engine, started now when it is not running yet (a workspace added while
    /// the server runs). `None` on a server without an org source.
    pub async fn engine(&self, ws: &WorkspaceId) -> Result<Option<Engine>, StartError> {
        if let Some(engine) = self.get(ws) {
            return Ok(Some(engine));
        }
        if matches!(self.inner.source, OrgSource::None) {
            return Ok(None);
        }
        let _one_at_a_time = self.inner.starting.lock().await;
        if let Some(engine) = self.get(ws) {
            return Ok(Some(engine));
        }
        let engine = self.start(ws).await?;
        Ok(Some(engine))
    }

    /// Starts the engines of every workspace in the database.
    pub async fn start_all(&self) -> Result<(), StartError> {
        if matches!(self.inner.source, OrgSource::None) {
            return Ok(());
        }
        for ws in store::workspace_ids(&self.inner.pool).await? {
            self.engine(&ws).await?;
        }
        Ok(())
    }

    /// Rings the workspace's engine: its settings were saved (or storage works again). Servers
    /// sharing a PostgreSQL database are told too ([`wakeups`]).
    pub fn wake(&self, ws: &WorkspaceId) {
        self.wake_here(ws);
        self.publish(Wakeup::Schedule(ws.clone()));
    }

    /// Changes were queued in the workspace's outbox: its outbound worker pushes them now, on
    /// whichever server holds the workspace's outbound work.
    pub fn outbox_changed(&self, ws: &WorkspaceId) {
        self.outbox_changed_here(ws);
        self.publish(Wakeup::Outbox(ws.clone()));
    }

    fn wake_here(&self, ws: &WorkspaceId) {
        if let Some(engine) = self.get(ws) {
            engine.wake();
        }
    }

    fn outbox_changed_here(&self, ws: &WorkspaceId) {
        if let Some(engine) = self.get(ws) {
            engine.outbox_changed();
        }
    }

    /// Sends `wakeup` to the other servers in the background (a request does not wait for it).
    fn publish(&self, wakeup: Wakeup) {
        if !self.inner.pool.is_postgres() {
            return;
        }
        let pool = self.inner.pool.clone();
        tokio::spawn(async move {
            if let Err(e) = wakeups::publish(&pool, &wakeup).await {
                tracing::warn!(error = %e, "could not tell the other servers about a change");
            }
        });
    }

    /// Until `cancel`: rings this server's engines for the wake-ups other servers (and this one)
    /// publish. Only on PostgreSQL; a lost connection is made again.
    pub async fn listen_for_wakeups(self, cancel: CancellationToken) {
        loop {
            let mut listener = match wakeups::listen(&self.inner.pool).await {
                Ok(Some(listener)) => listener,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "could not listen for other servers' changes; trying again");
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            };
            loop {
                let received = tokio::select! {
                    _ = cancel.cancelled() => return,
                    n = listener.recv() => n,
                };
                match received {
                    Ok(n) => match Wakeup::parse(n.payload()) {
                        Some(Wakeup::Outbox(ws)) => self.outbox_changed_here(&ws),
                        Some(Wakeup::Schedule(ws)) => self.wake_here(&ws),
                        None => tracing::debug!(payload = n.payload(), "unknown wake-up"),
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "lost the wake-up channel; listening again");
                        break;
                    }
                }
            }
        }
    }

    /// Wakes every engine's loops (writing works again after a storage failure).
    pub fn wake_all(&self) {
        for engine in self.all() {
            engine.wake();
            engine.outbox_changed();
        }
    }

    /// The demo's local org of a workspace (faults, tests).
    #[cfg(feature = "local-org")]
    pub fn local_org<R>(
        &self,
        ws: &WorkspaceId,
        f: impl FnOnce(&crate::fake_org::FakeOrg) -> R,
    ) -> Option<R> {
        lock(&self.inner.orgs).iter().find(|(w, _)| w == ws).map(|(_, org)| f(org))
    }

    async fn start(&self, ws: &WorkspaceId) -> Result<Engine, StartError> {
        let cancel = self.inner.shutdown.child_token();
        let engine = match &self.inner.source {
            OrgSource::None => unreachable!("engine() returns before starting one without an org"),
            OrgSource::Salesforce { client, refresh_token } => {
                let token =
                    refresh_token.as_ref().filter(|(w, _)| w == ws).map(|(_, t)| t.as_str());
                let sf = SalesforceClient::new((**client).clone(), token.unwrap_or(""))?;
                let engine = self.new_engine(ws, sf, None, cancel);
                connection::on_start(&engine, &client.login_url, None, token).await?;
                engine
            }
            #[cfg(feature = "local-org")]
            OrgSource::Local(local) => {
                let seed =
                    if *ws == local.first { local.org.seed } else { local.org.seed ^ seed_of(ws) };
                let config = crate::fake_org::OrgConfig { seed, ..local.org.clone() };
                let org = crate::fake_org::bind("127.0.0.1:0".parse()?, config).await?;
                let creds = org.credentials().clone();
                let org_url = creds.instance_url.clone();
                tracing::info!(workspace = %ws, %org_url, "local Salesforce org running in-process (faults: POST {org_url}/__fake_org/faults)");
                let engine = self.new_engine(ws, org.client()?, Some(org_url), cancel);
                let (url, user, token) =
                    (&creds.instance_url, &creds.username, &creds.refresh_token);
                connection::on_start(&engine, url, Some(user), Some(token)).await?;
                if local.changes_per_minute > 0 {
                    let every = Duration::from_secs(60) / local.changes_per_minute;
                    lock(&self.inner.tasks).push(tokio::spawn(crate::demo::changes::run(
                        engine.clone(),
                        every,
                        seed,
                    )));
                }
                lock(&self.inner.orgs).push((ws.clone(), org));
                engine
            }
        };
        engine.report_storage_to(self.inner.storage.clone());
        {
            let mut tasks = lock(&self.inner.tasks);
            tasks.push(tokio::spawn(usage::track_api_usage(engine.clone(), USAGE_EVERY)));
            tasks.push(tokio::spawn(scheduler::run_inbound(engine.clone())));
            tasks.push(tokio::spawn(scheduler::run_outbound(engine.clone())));
        }
        lock(&self.inner.engines).insert(ws.clone(), engine.clone());
        tracing::info!(workspace = %ws, "sync engine started");
        Ok(engine)
    }

    fn new_engine(
        &self,
        ws: &WorkspaceId,
        client: SalesforceClient,
        org_url: Option<String>,
        cancel: CancellationToken,
    ) -> Engine {
        Engine::new(
            self.inner.pool.clone(),
            ws.clone(),
            client,
            self.inner.clock.clone(),
            self.inner.config.clone(),
            org_url,
            cancel,
        )
    }

    /// Stops every engine's loops (the page in hand is finished or rolled back) and the local
    /// orgs, and waits for them.
    pub async fn stop(&self) {
        self.inner.shutdown.cancel();
        let tasks = std::mem::take(&mut *lock(&self.inner.tasks));
        for task in tasks {
            let _ = task.await;
        }
        #[cfg(feature = "local-org")]
        {
            let orgs = std::mem::take(&mut *lock(&self.inner.orgs));
            for (_, org) in orgs {
                org.shutdown().await;
            }
        }
    }
}

/// A number from the workspace's id, so that each demo workspace's simulated changes differ.
#[cfg(feature = "local-org")]
pub fn seed_of(ws: &WorkspaceId) -> u64 {
    ws.as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}
