// `elevatectl enroll USER ...`: gives USER a TOTP factor, either a new
// secret (shown once as an otpauth:// URI and a QR code) or one imported
// from pam_google_authenticator / pam_oath so their phone keeps working.
#include "cli/import/import_secrets.h"
#include "cli/output.h"
#include "cli/qr.h"
#include "cli/verbs.h"

#include "common/base/unique_fd.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

namespace elevate::cli {

namespace {

constexpr std::string_view kVerb = "enroll";
// Both source formats are a few lines per user; anything larger is not one.
constexpr size_t kMaxImportFile = 64 * 1024;

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

// Reads a secret file into a wiped buffer. Admins run this as root on files
// that users control, so: no symlinks, regular files only, never block on a
// FIFO, and a hard size limit before reading.
base::Result<base::SecureBuffer> read_import_file(const std::string& path) {
    base::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
    if (!fd.ok()) {
        if (errno == ELOOP)
            return base::make_error("cannot read " + path + ": it is a symbolic link; give the real path");
        return base::errno_error("cannot read " + path);
    }
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return base::errno_error("cannot read " + path);
    if (!S_ISREG(st.st_mode)) return base::make_error("cannot read " + path + ": not a regular file");
    if (static_cast<uint64_t>(st.st_size) > kMaxImportFile)
        return base::make_error("refusing " + path + ": larger than 64 KiB, so not a secret file");

    char buf[kMaxImportFile + 1];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd.get(), buf + len, sizeof buf - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            OPENSSL_cleanse(buf, len);
            return base::errno_error("cannot read " + path, e);
        }
        if (n == 0) break;
        len += static_cast<size_t>(n);
        if (len > kMaxImportFile) {  // grew while we read it
            OPENSSL_cleanse(buf, len);
            return base::make_error("refusing " + path + ": larger than 64 KiB, so not a secret file");
        }
    }
    base::SecureBuffer out(std::string_view(buf, len));
    OPENSSL_cleanse(buf, len);
    return out;
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

    auto contents = read_import_file(path);
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
