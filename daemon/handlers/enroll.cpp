// enroll, unenroll: the second factor of a user. A fresh secret leaves the
// daemon exactly once, inside the otpauth:// URI of the enroll reply.
#include "daemon/auth/totp.h"
#include "daemon/daemon.h"
#include "daemon/handlers/handlers.h"
#include "daemon/policy/identity.h"

namespace elevate::handlers {

namespace {

std::optional<config::TotpAlgorithm> algorithm_from(std::string_view name) {
    if (name == "sha1") return config::TotpAlgorithm::Sha1;
    if (name == "sha256") return config::TotpAlgorithm::Sha256;
    if (name == "sha512") return config::TotpAlgorithm::Sha512;
    return std::nullopt;
}

void audit(daemon::Daemon& d, const Call& call, const char* event, const char* result, std::string why) {
    d.audit().record({d.clock().now(), event, call.peer.user, call.user, "", "", "elevatectl", result, std::move(why)});
}

}  // namespace

Answer enroll(daemon::Daemon& d, const Call& call, wire::FieldWriter& reply) {
    if (!policy::user_groups(call.user)) return no_such_user(call.user);

    bool force = false;
    call.fields.get_bool(wire::Tag::Force, &force);
    wire::Field secret_field;
    const bool importing = call.fields.find(wire::Tag::Secret, &secret_field);

    // Replacing a factor or choosing its secret would let anyone holding a
    // user's password defeat the second factor: admin only.
    if ((force || importing) && !call.peer.admin) {
        audit(d, call, "enroll", "denied", "replace or import requires an administrator");
        return {wire::Status::Forbidden, "replacing or importing a factor requires root or the admin group"};
    }

    auto existing = d.store().factors_for_user(call.user);
    if (!existing) return internal_error("enroll", existing.error());
    if (!existing->empty() && !force) {
        audit(d, call, "enroll", "denied", "already enrolled");
        return {wire::Status::Conflict, call.user +
                                            " is already enrolled; use --force to replace the factor "
                                            "(the old authenticator stops working)"};
    }

    const auto& totp = d.config().totp;
    auth::TotpParams params{totp.algorithm, totp.digits, totp.period};
    store::Factor f;
    f.user = call.user;
    f.kind = "totp";
    f.created = d.clock().now();
    Answer error;
    if (!get_text(call.fields, wire::Tag::Label, 64, &f.label, &error)) return error;
    if (f.label.empty()) f.label = "authenticator";

    if (importing) {
        if (secret_field.length < 10 || secret_field.length > 128)
            return bad_request("imported secret must be 10 to 128 bytes");
        f.secret = base::SecureBuffer(secret_field.data, secret_field.length);
        std::string_view algorithm;
        if (call.fields.get_str(wire::Tag::Algorithm, &algorithm)) {
            auto a = algorithm_from(algorithm);
            if (!a) return bad_request("algorithm must be sha1, sha256 or sha512");
            params.algorithm = *a;
        }
        uint64_t digits = uint64_t(params.digits), period = uint64_t(params.period);
        call.fields.get_u64(wire::Tag::Digits, &digits);
        call.fields.get_u64(wire::Tag::Period, &period);
        if (digits < 6 || digits > 8) return bad_request("digits must be 6, 7 or 8");
        if (period < 15 || period > 300) return bad_request("period must be 15 to 300 seconds");
        params.digits = int(digits);
        params.period = int64_t(period);
    } else {
        f.secret = auth::totp_new_secret(params.algorithm);
    }
    f.algorithm = config::algorithm_name(params.algorithm);
    f.digits = params.digits;
    f.period = params.period;

    if (auto r = d.store().replace_factor(f); !r) return internal_error("enroll", r.error());
    // A new factor starts with a clean failure count.
    if (auto r = d.store().clear_failures(call.user); !r) return internal_error("enroll", r.error());

    audit(d, call, "enroll", "ok", importing ? "imported existing secret" : (force ? "re-enrolled" : "enrolled"));
    reply.put_str(wire::Tag::User, call.user);
    reply.put_str(wire::Tag::Uri, auth::otpauth_uri(totp.issuer, call.user, f.secret, params));
    return {};
}

Answer unenroll(daemon::Daemon& d, const Call& call, wire::FieldWriter&) {
    auto removed = d.store().delete_factors(call.user, "totp");
    if (!removed) return internal_error("unenroll", removed.error());
    if (!*removed) return {wire::Status::NotEnrolled, call.user + " has no enrolled factor"};
    audit(d, call, "unenroll", "ok", "factor removed");
    return {};
}

}  // namespace elevate::handlers
