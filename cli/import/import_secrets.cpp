// Importers for ~/.google_authenticator and pam_oath usersfiles.
// Formats: google-authenticator-libpam FILEFORMAT; liboath usersfile.c
// (TYPE USER PIN SECRET [COUNTER [LASTOTP [TIME]]], whitespace-separated).
// Hazards: the input holds seeds, so it is only ever viewed (string_view),
// never copied into a std::string; seeds are decoded straight into a
// SecureBuffer; error messages and notes carry line numbers, option names and
// counts, never seed bytes, scratch codes or PINs.
#include "cli/import/import_secrets.h"

#include "common/base/parse.h"
#include "daemon/auth/totp.h"

#include <optional>
#include <vector>

namespace elevate::cli {
namespace {

constexpr std::string_view kSpace = " \t\r";

std::string_view trim(std::string_view s) {
    const size_t b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    const size_t e = s.find_last_not_of(kSpace);
    return s.substr(b, e - b + 1);
}

// Splits into lines on '\n'; a final line without '\n' counts, an empty tail
// after the last '\n' does not.
std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t nl = text.find('\n', pos);
        if (nl == std::string_view::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t pos = 0;
    while (true) {
        const size_t b = line.find_first_not_of(kSpace, pos);
        if (b == std::string_view::npos) break;
        size_t e = line.find_first_of(kSpace, b);
        if (e == std::string_view::npos) e = line.size();
        fields.push_back(line.substr(b, e - b));
        pos = e;
    }
    return fields;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (const char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::string at_line(size_t n) {
    return "line " + std::to_string(n) + ": ";
}

void add_note(std::string& note, const std::string& text) {
    if (!note.empty()) note += "; ";
    note += text;
}

base::Error line_error(size_t n, const std::string& what) {
    return base::make_error(at_line(n) + what);
}

base::Result<void> check_secret_length(const base::SecureBuffer& secret, size_t line, std::string& note) {
    if (secret.size() < kMinImportedSecretBytes)
        return line_error(line, "the secret is only " + std::to_string(secret.size() * 8) +
                                    " bits; at least 80 are needed (enroll the user afresh instead)");
    if (secret.size() < 16)
        add_note(note, "the secret is only " + std::to_string(secret.size() * 8) +
                           " bits; consider re-enrolling with a fresh 160-bit secret");
    return {};
}

// ---- ~/.google_authenticator -------------------------------------------

// Option names are upper case, digits and '_' and contain an '_' (FILEFORMAT).
bool valid_option_name(std::string_view name) {
    if (name.empty() || name.find('_') == std::string_view::npos) return false;
    for (const char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

// Hex digit value without a table lookup indexed by secret data; -1 if not hex.
int hex_value(unsigned char c) {
    const int digit = c - '0';
    const int lower = (c | 0x20) - 'a' + 10;
    if (digit >= 0 && digit <= 9) return digit;
    if (lower >= 10 && lower <= 15) return lower;
    return -1;
}

}  // namespace

base::Result<ImportedSecret> parse_google_authenticator(std::string_view file_contents) {
    if (file_contents.size() > kMaxImportFileBytes)
        return base::make_error("the google-authenticator file is larger than 4 MiB; is it the right file?");
    if (file_contents.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return base::make_error("the google-authenticator file is empty");

    const std::vector<std::string_view> lines = split_lines(file_contents);
    ImportedSecret out;

    const std::string_view secret_text = trim(lines[0]);
    if (secret_text.empty()) return line_error(1, "expected the base32 secret on the first line, found an empty line");
    if (secret_text.front() == '"')
        return line_error(1, "expected the base32 secret on the first line, found an option line");
    // base32_decode says where the first bad character is; that is content
    // of a file root may have been pointed at, so the detail is dropped.
    auto secret = auth::base32_decode(secret_text);
    if (!secret) return base::make_error("line 1 is not a valid base32 secret");
    out.secret = std::move(secret).value();
    if (auto ok = check_secret_length(out.secret, 1, out.note); !ok) return std::move(ok).error();

    size_t totp_line = 0;
    size_t hotp_line = 0;
    size_t step_line = 0;
    size_t disabled_line = 0;
    size_t scratch_codes = 0;
    std::vector<std::string> ignored;

    for (size_t i = 1; i < lines.size(); ++i) {
        const size_t n = i + 1;
        const std::string_view line = trim(lines[i]);
        if (line.empty()) continue;
        if (line.front() == '"') {
            // `" NAME args...`
            if (line.size() < 2 || line[1] != ' ')
                return line_error(n, "malformed option line: expected '\" ' followed by an option name");
            const std::vector<std::string_view> f = split_fields(line.substr(2));
            if (f.empty() || !valid_option_name(f[0]))
                return line_error(n, "malformed option line: expected an upper-case option name such as TOTP_AUTH");
            const std::string_view name = f[0];
            if (name == "TOTP_AUTH") {
                totp_line = n;
            } else if (name == "HOTP_COUNTER") {
                hotp_line = n;
            } else if (name == "OTP_DISABLED") {
                disabled_line = n;
            } else if (name == "STEP_SIZE") {
                if (step_line != 0)
                    return line_error(n, "STEP_SIZE given twice (first on line " + std::to_string(step_line) + ")");
                step_line = n;
                // pam_google_authenticator accepts 1..60 seconds.
                const auto step = f.size() == 2 ? base::parse_u64_in(f[1], 1, 60) : std::nullopt;
                if (!step) return line_error(n, "STEP_SIZE must be one whole number of seconds from 1 to 60");
                out.period = static_cast<int64_t>(*step);
            } else if (name == "WINDOW_SIZE") {
                std::string text = "WINDOW_SIZE";
                if (f.size() >= 2 && all_digits(f[1]) && f[1].size() <= 6) text += " " + std::string(f[1]);
                add_note(out.note, text + " not imported (elevate uses its totp.drift_steps setting)");
            } else if (name == "RATE_LIMIT") {
                add_note(out.note, "RATE_LIMIT not imported (elevate's [lockout] settings apply)");
            } else if (name == "DISALLOW_REUSE") {
                add_note(out.note, "DISALLOW_REUSE: elevate always refuses a reused code");
            } else if (name == "TIME_SKEW" || name == "RESETTING_TIME_SKEW") {
                add_note(out.note, std::string(name) + " not imported (learned clock skew is not carried over)");
            } else {
                ignored.emplace_back(name);
            }
            continue;
        }
        if (line.size() == 8 && all_digits(line)) {
            ++scratch_codes;
            continue;
        }
        return line_error(n, "expected an option line ('\" NAME ...') or an 8-digit scratch code");
    }

    if (hotp_line != 0)
        return line_error(hotp_line,
                          "this is a counter-based HOTP secret (\" HOTP_COUNTER); only time-based TOTP secrets "
                          "can be imported: enroll the user afresh");
    if (disabled_line != 0)
        return line_error(disabled_line,
                          "OTP_DISABLED is set, so this secret is not in use; enroll the user afresh instead");
    if (totp_line == 0)
        return base::make_error(
            "no \" TOTP_AUTH option: pam_google_authenticator does not use this secret for time-based codes, and "
            "only TOTP secrets can be imported");

    for (const std::string& name : ignored) add_note(out.note, "unknown option " + name + " ignored");
    if (scratch_codes != 0)
        add_note(out.note,
                 std::to_string(scratch_codes) + " scratch code" + (scratch_codes == 1 ? "" : "s") + " not imported");
    return out;
}

// ---- pam_oath usersfile ---------------------------------------------------

namespace {

struct TokenType {
    int digits = 6;
    int64_t period = 30;
};

// HOTP/T<period>[/<digits>]; event-based HOTP[/E[/<digits>]] is refused.
base::Result<TokenType> parse_token_type(std::string_view type, size_t n) {
    // Messages name the rule, not the field: the line is content of a file
    // root may have been pointed at.
    if (type == "HOTP" || type == "HOTP/E" || type.starts_with("HOTP/E/"))
        return line_error(n,
                          "the token type is event-based (counter) HOTP; only time-based HOTP/T<period> tokens can be "
                          "imported: enroll the user afresh");
    const auto unknown = [&] {
        return line_error(n, "unknown token type (expected HOTP/T<period>[/<digits>], e.g. HOTP/T30/6)");
    };
    if (!type.starts_with("HOTP/T")) return unknown();
    std::string_view rest = type.substr(6);
    std::string_view digits_text;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        digits_text = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    TokenType t;
    const auto period = base::parse_u64_in(rest, 1, 300);
    if (!period) return line_error(n, "token type HOTP/T<period>: the period must be 1 to 300 seconds");
    t.period = static_cast<int64_t>(*period);
    if (!digits_text.empty() || type.back() == '/') {
        const auto digits = base::parse_u64_in(digits_text, 6, 8);
        if (!digits) return line_error(n, "token type HOTP/T<period>/<digits>: digits must be 6, 7 or 8");
        t.digits = static_cast<int>(*digits);
    }
    return t;
}

base::Result<base::SecureBuffer> decode_hex_secret(std::string_view hex, size_t n) {
    if (hex.size() % 2 != 0) return line_error(n, "SECRET_HEX has an odd number of hex digits");
    if (hex.size() > 2 * 1024) return line_error(n, "SECRET_HEX is longer than 1024 bytes");
    // Decode in place into the wiped buffer; a bad digit only fails the whole
    // field (neither its value nor its position is reported).
    static constexpr char kZeros[1024] = {};
    base::SecureBuffer out{std::string_view(kZeros, hex.size() / 2)};
    int bad = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        const int hi = hex_value(static_cast<unsigned char>(hex[2 * i]));
        const int lo = hex_value(static_cast<unsigned char>(hex[2 * i + 1]));
        bad |= (hi | lo) < 0;
        out.data()[i] = static_cast<char>(((hi & 0x0f) << 4) | (lo & 0x0f));
    }
    if (bad != 0) return line_error(n, "SECRET_HEX is not hex");
    return out;
}

}  // namespace

base::Result<ImportedSecret> parse_oath_usersfile(std::string_view contents, std::string_view user) {
    if (user.empty()) return base::make_error("no user name given");
    if (contents.size() > kMaxImportFileBytes)
        return base::make_error("the usersfile is larger than 4 MiB; is it the right file?");
    if (contents.find_first_not_of(" \t\r\n") == std::string_view::npos)
        return base::make_error("the usersfile is empty");

    const std::vector<std::string_view> lines = split_lines(contents);
    size_t found_line = 0;
    std::vector<std::string_view> found;
    size_t duplicates = 0;

    // Every line is checked for shape, so a damaged file is reported rather
    // than a user silently "not found" because their line was unreadable.
    for (size_t i = 0; i < lines.size(); ++i) {
        const size_t n = i + 1;
        const std::string_view line = trim(lines[i]);
        if (line.empty() || line.front() == '#') continue;
        std::vector<std::string_view> f = split_fields(line);
        if (f.size() < 4)
            return line_error(n, "expected TYPE USER PIN SECRET_HEX [COUNTER [LASTOTP [TIME]]], found " +
                                     std::to_string(f.size()) + " field" + (f.size() == 1 ? "" : "s"));
        if (f.size() > 7) return line_error(n, "too many fields (" + std::to_string(f.size()) + "; at most 7)");
        if (f[1] != user) continue;
        if (found_line != 0) {
            ++duplicates;
            continue;
        }
        found_line = n;
        found = std::move(f);
    }
    if (found_line == 0) return base::make_error("user '" + std::string(user) + "' has no line in the usersfile");

    const size_t n = found_line;
    auto type = parse_token_type(found[0], n);
    if (!type) return std::move(type).error();
    if (found.size() >= 5 && !all_digits(found[4])) return line_error(n, "COUNTER is not a decimal number");

    auto secret = decode_hex_secret(found[3], n);
    if (!secret) return std::move(secret).error();

    ImportedSecret out;
    out.secret = std::move(secret).value();
    out.digits = type->digits;
    out.period = type->period;
    out.algorithm = config::TotpAlgorithm::Sha1;  // liboath usersfiles are HMAC-SHA1 only
    add_note(out.note, "imported from usersfile line " + std::to_string(n) + " (" + std::string(found[0]) + ")");
    if (auto ok = check_secret_length(out.secret, n, out.note); !ok) return std::move(ok).error();
    if (found[2] != "-")
        add_note(out.note,
                 "the usersfile PIN for this user was not imported (elevate does not use a static PIN with TOTP)");
    if (duplicates != 0)
        add_note(out.note, std::to_string(duplicates) + " later line" + (duplicates == 1 ? "" : "s") +
                               " for this user ignored (pam_oath uses the first)");
    return out;
}

}  // namespace elevate::cli
