#include "cli/args.h"

#include "common/base/parse.h"

namespace elevate::cli {

namespace {

constexpr uint64_t kMaxTimeoutSeconds = 3600;

const OptionSpec* find_long(const ArgSpec& spec, std::string_view name) {
    for (const auto& o : spec.options)
        if (o.name == name) return &o;
    return nullptr;
}

const OptionSpec* find_short(const ArgSpec& spec, char c) {
    for (const auto& o : spec.options)
        if (o.short_name != 0 && o.short_name == c) return &o;
    return nullptr;
}

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

// Checks a typed value; returns the number for Duration/Seconds.
base::Result<int64_t> check_value(const OptionSpec& o, const std::string& value) {
    const std::string opt = "--" + std::string(o.name);
    if (value.empty()) return base::make_error("option " + opt + " needs a value");
    switch (o.kind) {
        case ValueKind::None:
        case ValueKind::Text:
            return int64_t{0};
        case ValueKind::Duration:
            if (auto d = base::parse_duration(value)) return *d;
            return base::make_error("invalid duration " + quoted(value) + " for " + opt + " (use e.g. 45m, 2h, 1h30m)");
        case ValueKind::Seconds:
            if (auto n = base::parse_u64_in(value, 1, kMaxTimeoutSeconds)) return static_cast<int64_t>(*n);
            return base::make_error("invalid value " + quoted(value) + " for " + opt + " (whole seconds, 1 to " +
                                    std::to_string(kMaxTimeoutSeconds) + ")");
    }
    return int64_t{0};
}

}  // namespace

const ParsedArgs::Entry* ParsedArgs::find(std::string_view name) const {
    for (const auto& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

bool ParsedArgs::has(std::string_view name) const {
    return find(name) != nullptr;
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    const Entry* e = find(name);
    if (e == nullptr || !e->has_value) return std::nullopt;
    return e->value;
}

std::optional<int64_t> ParsedArgs::number(std::string_view name) const {
    const Entry* e = find(name);
    if (e == nullptr || !e->has_value) return std::nullopt;
    return e->number;
}

base::Result<ParsedArgs> parse_args(const ArgSpec& spec, const std::vector<std::string>& args) {
    ParsedArgs out;
    bool options_done = false;
    // The option just given alone whose value is optional: `--wait 60`
    // leaves 60 as a positional, and the error should say how to attach it.
    const OptionSpec* bare_optional = nullptr;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        const bool looks_like_option = !options_done && arg.size() > 1 && arg[0] == '-';
        if (!looks_like_option) {
            if (spec.stop_at_positional) {
                out.rest_.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
                break;
            }
            if (out.positionals_.size() >= spec.positionals.size()) {
                std::string message = "unexpected argument " + quoted(arg);
                if (bare_optional != nullptr)
                    message += " (write --" + std::string(bare_optional->name) + "=" + arg + " to give it a value)";
                return base::make_error(message);
            }
            out.positionals_.push_back(arg);
            bare_optional = nullptr;
            continue;
        }
        bare_optional = nullptr;
        if (arg == "--") {
            options_done = true;
            continue;
        }

        const OptionSpec* opt = nullptr;
        std::optional<std::string> inline_value;
        if (arg[1] == '-') {
            std::string_view body = std::string_view(arg).substr(2);
            size_t eq = body.find('=');
            if (eq != std::string_view::npos) {
                inline_value = std::string(body.substr(eq + 1));
                body = body.substr(0, eq);
            }
            opt = find_long(spec, body);
        } else if (arg.size() == 2) {
            opt = find_short(spec, arg[1]);
        }
        if (opt == nullptr) {
            std::string_view shown = arg;
            shown = shown.substr(0, shown.find('='));
            return base::make_error("unknown option " + quoted(shown));
        }
        const std::string display = "--" + std::string(opt->name);
        if (out.has(opt->name)) return base::make_error("option " + display + " given twice");

        ParsedArgs::Entry entry;
        entry.name = std::string(opt->name);
        if (opt->kind == ValueKind::None) {
            if (inline_value) return base::make_error("option " + display + " takes no value");
        } else {
            if (inline_value) {
                entry.value = std::move(*inline_value);
            } else if (opt->value_optional) {
                bare_optional = opt;
                out.entries_.push_back(std::move(entry));
                continue;
            } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
                // `--reason --force` is far more likely a forgotten value
                // than a reason that starts with "--" (use --reason=--x).
                entry.value = args[++i];
            } else {
                return base::make_error("option " + display + " needs a value");
            }
            auto n = check_value(*opt, entry.value);
            if (!n) return std::move(n).error();
            entry.number = *n;
            entry.has_value = true;
        }
        out.entries_.push_back(std::move(entry));
    }
    // `VERB --help` needs no positionals and no required options.
    if (out.has("help")) return out;
    if (out.positionals_.size() < spec.min_positionals)
        return base::make_error("missing " + std::string(spec.positionals[out.positionals_.size()]));
    for (const auto& o : spec.options)
        if (o.required && !out.has(o.name)) return base::make_error("option --" + std::string(o.name) + " is required");
    return out;
}

}  // namespace elevate::cli
