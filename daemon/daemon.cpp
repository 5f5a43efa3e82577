#include "daemon/daemon.h"

#include "daemon/core/log.h"

namespace elevate::daemon {

Daemon::Daemon(config::Config config, std::string config_path, const base::Clock& clock,
               std::unique_ptr<store::Store> store)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      clock_(clock),
      store_(std::move(store)),
      audit_(*store_, config_.daemon.audit_journal),
      verifier_(*store_, clock_),
      grants_(*store_, audit_, clock_),
      sessions_(*store_, audit_, clock_),
      snapshot_(*store_, clock_) {
    grants_.set_on_end([this](const store::Grant& g) { on_grant_end(g); });
    grants_.set_on_change([this] { snapshot_dirty_ = true; });
}

void Daemon::before_replies() {
    if (snapshot_dirty_) publish_snapshot();
    audit_.flush();
}

void Daemon::publish_snapshot() {
    snapshot_dirty_ = false;
    // A failure is loud but not fatal: NSS readers keep the previous
    // snapshot and enforce its end times; PAM asks the daemon directly.
    if (auto r = snapshot_.publish(config_); !r) log_error("cannot write group snapshot: " + r.error().message);
}

void Daemon::on_grant_end(const store::Grant& g) {
    const config::Role* role = config_.find_role(g.role);
    if (!role || role->on_expiry != config::OnExpiry::Terminate) return;
    const char* why = g.state == store::GrantState::Expired   ? "expired"
                      : g.state == store::GrantState::Revoked ? "was revoked"
                                                              : "was dropped";
    sessions_.terminate_for(g, why);
}

base::Result<std::unique_ptr<Daemon>> Daemon::create(config::Config config, std::string config_path,
                                                     const base::Clock& clock) {
    auto store = store::Store::open(config.daemon.state_dir);
    if (!store) return std::move(store).error();
    std::unique_ptr<Daemon> d(new Daemon(std::move(config), std::move(config_path), clock, std::move(*store)));
    if (auto r = d->audit_.open_file(d->config_.daemon.audit_file); !r) return std::move(r).error();
    auto loaded = d->grants_.load();
    if (!loaded) return std::move(loaded).error();
    log_info("loaded " + std::to_string(*loaded) + " active grant(s)");
    if (auto r = d->snapshot_.publish(d->config_); !r) return std::move(r).error();
    return d;
}

void Daemon::reload() {
    auto fresh = config::load_config(config_path_);
    if (!fresh) {
        log_error("reload failed, keeping the current configuration: " + fresh.error().message);
        audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "error", fresh.error().message});
        return;
    }
    // Paths that need a restart are kept; say so rather than half-apply.
    const auto& old_d = config_.daemon;
    const auto& new_d = fresh->daemon;
    if (new_d.socket_path != old_d.socket_path || new_d.state_dir != old_d.state_dir)
        log_warning("socket and state_dir changes take effect at the next restart");
    fresh->daemon.socket_path = old_d.socket_path;
    fresh->daemon.state_dir = old_d.state_dir;
    if (new_d.audit_file != old_d.audit_file) {
        if (auto r = audit_.open_file(new_d.audit_file); !r) log_error("audit file: " + r.error().message);
    }
    audit_.set_journal(new_d.audit_journal);
    config_ = std::move(*fresh);
    identity_.clear();   // the admin group may have changed, and so may users
    publish_snapshot();  // roles may have been added, removed or renumbered
    log_info("configuration reloaded (" + std::to_string(config_.roles.size()) + " role(s))");
    audit_.record({clock_.now(), "reload", "root", "", "", "", "SIGHUP", "ok", "configuration reloaded"});
}

void Daemon::on_timer() {
    const int64_t now = clock_.now();
    auto next = grants_.next_expiry();
    if (next && *next <= now) grants_.expire_due();
    sessions_.tick();
    if (now >= next_checkpoint_) {
        // Checkpoints run here, between requests, rather than inside some
        // unlucky request's commit.
        if (auto r = store_->checkpoint(); !r) log_warning(r.error().message);
        next_checkpoint_ = now + 1;
    }
    if (now >= next_prune_) {
        // Used time-steps are kept (in seconds) well past any code's window:
        // 10 drift steps of at most 300 s either side.
        if (auto r = store_->prune_totp_steps(now - 2 * 3600); !r) log_warning(r.error().message);
        next_prune_ = now + 3600;
    }
}

std::optional<int64_t> Daemon::next_timer() const {
    std::optional<int64_t> next = grants_.next_expiry();
    if (auto kill = sessions_.next_deadline(); kill && (!next || *kill < *next)) next = kill;
    return next;
}

}  // namespace elevate::daemon
