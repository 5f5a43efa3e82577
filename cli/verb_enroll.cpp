// `elevatectl enroll USER ...`: gives USER a TOTP factor, either a new
// secret (shown once as an otpauth:// URI and a QR code) or one imported
// from pam_google_authenticator / pam_oath so their phone keeps working.
#include "cli/import/import_secrets.h"
#include "cli/import/secret_file.h"
#include "cli/output.h"
#include "cli/qr.h"
#include "cli/verbs.h"

#include <openssl/crypto.h>
#include <pwd.h>
#include <unistd.h>

#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "enroll";

const char* algorithm_word(config::TotpAlgorithm a) {
    switch (a) {
        case config::TotpAlgorithm::Sha1:
            return "sha1";
        case config::TotpAlgorithm::Sha256:
            return "sha256";
        case config::TotpAlgorithm::Sha512:
            return "sha512";
    }
    return "sha1";
}

// Who must own the import file: a google-authenticator file the user being
// enrolled (pam_google_authenticator's own rule for it; this also defeats a
// hard link to someone else's file), a pam_oath usersfile root (it holds
// every user's secret, so only root may write it).
base::Result<SecretFileOwner> owner_rule(bool google_authenticator, const std::string& user) {
    if (!google_authenticator) return SecretFileOwner{0, "root", "a pam_oath usersfile must belong to root"};
    struct passwd pw;
    struct passwd* found = nullptr;
    char buf[4096];
    if (getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || found == nullptr)
        return base::make_error("no user " + user + " to own a google-authenticator file");
    return SecretFileOwner{found->pw_uid, user, "a google-authenticator file must belong to the user being enrolled"};
}

struct Import {
    ImportedSecret secret;
    std::string source;  // the file, for messages
};

// Returns nullopt with *exit_code set on failure; an empty Import (no
// source) when no import option was given.
std::optional<Import> load_import(const Context& ctx, const ParsedArgs& args, const std::string& user, int* exit_code) {
    auto ga = args.value("import-google-authenticator");
    auto oath = args.value("import-oath-usersfile");
    if (!ga && !oath) return Import{};
    const std::string& path = ga ? *ga : *oath;

    const auto owner = owner_rule(ga.has_value(), user);
    if (!owner) {
        *exit_code = report_error(ctx, kExitUsage, "bad_input", owner.error().message);
        return std::nullopt;
    }
    auto contents = read_secret_file(path, *owner);
    if (!contents) {
        *exit_code = report_error(ctx, kExitUsage, "bad_input", contents.error().message);
        return std::nullopt;
    }
    auto parsed = ga ? parse_google_authenticator(contents->view()) : parse_oath_usersfile(contents->view(), user);
    if (!parsed) {
        *exit_code = report_error(ctx, kExitUsage, "bad_input", path + ": " + parsed.error().message);
        return std::nullopt;
    }
    return Import{std::move(parsed).value(), path};
}

void show_uri(const ParsedArgs& args, const std::string& uri) {
    if (!args.has("no-qr") && isatty(STDOUT_FILENO)) {
        auto qr = render_qr(uri);
        if (qr) {
            std::cout << '\n' << *qr << '\n';
            OPENSSL_cleanse(qr->data(), qr->size());
        } else {
            std::cerr << "elevatectl: " << qr.error().message << "; use the URI below\n";
        }
    }
    std::cout << printable(uri) << '\n';
}

int run(const Context& ctx, const ParsedArgs& args) {
    const std::string& user = args.positionals()[0];
    if (args.has("import-google-authenticator") && args.has("import-oath-usersfile"))
        return report_usage(ctx, kVerb, "choose one of --import-google-authenticator and --import-oath-usersfile");
    const bool importing = args.has("import-google-authenticator") || args.has("import-oath-usersfile");
    if (args.has("show") && !importing)
        return report_usage(ctx, kVerb, "--show only applies to an import (a new secret is always shown)");

    int exit_code = kExitOk;
    auto import = load_import(ctx, args, user, &exit_code);
    if (!import) return exit_code;

    wire::BufferWriter request;
    request->put_str(wire::Tag::User, user);
    if (args.has("force")) request->put_bool(wire::Tag::Force, true);
    if (auto label = args.value("label")) request->put_str(wire::Tag::Label, *label);
    if (importing) {
        const ImportedSecret& s = import->secret;
        request->put_bytes(wire::Tag::Secret, s.secret.data(), s.secret.size());
        request->put_str(wire::Tag::Algorithm, algorithm_word(s.algorithm));
        request->put_u64(wire::Tag::Digits, static_cast<uint64_t>(s.digits));
        request->put_u64(wire::Tag::Period, static_cast<uint64_t>(s.period));
    }
    auto reply = call_daemon(ctx, wire::Op::Enroll, request.take(), &exit_code);
    import->secret.secret.wipe();
    if (!reply) return exit_code;

    std::string_view uri_view;
    (void)reply->fields.get_str(wire::Tag::Uri, &uri_view);
    std::string uri(uri_view);
    const bool show = !importing || args.has("show");
    const std::string& note = import->secret.note;

    if (ctx.json) {
        nlohmann::json j = {{"user", user}, {"enrolled", true}, {"imported", importing}};
        if (show) j["uri"] = uri;
        if (importing) {
            j["source"] = import->source;
            if (!note.empty()) j["note"] = note;
        }
        print_json(std::cout, j);
    } else {
        if (importing) {
            std::cout << "Imported existing secret for " << printable(user)
                      << "; their authenticator app keeps working\n";
            if (!note.empty()) std::cout << "Note: " << printable(note) << '\n';
        } else {
            std::cout << "Enrolled " << printable(user) << ". Add this to their authenticator app:\n";
        }
        if (show) {
            if (uri.empty()) {
                std::cerr << "elevatectl: the daemon sent no otpauth URI\n";
            } else {
                show_uri(args, uri);
                std::cout << "This secret is shown only once; it cannot be displayed again.\n";
            }
        }
    }
    std::cout.flush();
    OPENSSL_cleanse(uri.data(), uri.size());
    OPENSSL_cleanse(reply->payload.data(), reply->payload.size());
    return kExitOk;
}

}  // namespace

const Verb& enroll_verb() {
    static const Verb verb{
        kVerb,
        "give a user a TOTP second factor, new or imported (admin)",
        "Usage: elevatectl enroll USER [--force] [--label TEXT] [--no-qr]\n"
        "       elevatectl enroll USER --import-google-authenticator FILE [--show] ...\n"
        "       elevatectl enroll USER --import-oath-usersfile FILE [--show] ...\n"
        "\n"
        "Creates a TOTP secret for USER and shows it once, as an otpauth:// URI and\n"
        "a QR code to scan with an authenticator app. Enrolling someone else needs\n"
        "root or the admin group; you may enroll yourself once.\n"
        "\n"
        "  --force                              replace an existing enrollment\n"
        "  --label TEXT                         name shown in the authenticator app\n"
        "  --no-qr                              print the URI only\n"
        "  --import-google-authenticator FILE   keep the secret from FILE, a\n"
        "                                       pam_google_authenticator file\n"
        "                                       (~USER/.google_authenticator)\n"
        "  --import-oath-usersfile FILE         keep USER's secret from FILE, a\n"
        "                                       pam_oath usersfile (/etc/users.oath)\n"
        "  --show                               after an import, show the URI and\n"
        "                                       QR code as well\n"
        "\n"
        "An imported secret keeps the user's app working; it is not shown unless\n"
        "--show is given. Import files larger than 64 KiB are refused.\n",
        ArgSpec{{{"help", 'h', ValueKind::None},
                 {"force", 0, ValueKind::None},
                 {"label", 0, ValueKind::Text},
                 {"no-qr", 0, ValueKind::None},
                 {"import-google-authenticator", 0, ValueKind::Text},
                 {"import-oath-usersfile", 0, ValueKind::Text},
                 {"show", 0, ValueKind::None}},
                {"USER"},
                1,
                false},
        run,
    };
    return verb;
}

}  // namespace elevate::cli
