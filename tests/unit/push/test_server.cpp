#include "tests/unit/push/test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

extern char** environ;

namespace elevate::push::test {

namespace {

const std::string kScripts = ELEVATE_SOURCE_DIR "/tests/push";

std::vector<char*> to_argv(std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    return argv;
}

void write_file(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << content;
    }
    std::filesystem::rename(tmp, path);  // the server re-reads it at any moment
}

// Runs argv with stdout and stderr into `output`; an error unless it exits 0.
base::Result<void> run(std::vector<std::string> args, const std::string& output) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    auto argv = to_argv(args);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return base::make_error("cannot run " + args[0] + ": " + strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return base::make_error(args[0] + " " + args[1] + " failed: " + read_file(output));
    }
    return {};
}

}  // namespace

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TempDir::TempDir() {
    const char* base = getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/elevate-push-test.XXXXXX";
    if (mkdtemp(templ.data()) != nullptr) path_ = templ;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

ScriptServer::~ScriptServer() {
    stop();
}

base::Result<void> ScriptServer::start(const TempDir& dir, const std::string& program, const nlohmann::json& script,
                                       const std::string& cert, const std::vector<std::string>& server_args) {
    stop();
    dir_ = &dir;
    set_script(script);
    int out[2];
    int in[2];
    if (pipe2(out, O_CLOEXEC) != 0) return base::errno_error("pipe2");
    if (pipe2(in, O_CLOEXEC) != 0) {
        close(out[0]);
        close(out[1]);
        return base::errno_error("pipe2");
    }
    const std::string pki = dir.file("pki/");
    std::vector<std::string> args = {"python3",      kScripts + "/" + program, "--cert",   pki + cert + ".pem",
                                     "--key",        pki + cert + ".key",      "--script", dir.file("script.json"),
                                     "--log",        dir.file("requests.log"), "--port",   "0",
                                     "--watch-stdin"};
    args.insert(args.end(), server_args.begin(), server_args.end());
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, dir.file("server.stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    auto argv = to_argv(args);
    const int rc = posix_spawnp(&pid_, "python3", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_fd_ = in[1];
    if (rc != 0) {
        pid_ = -1;
        close(out[0]);
        stop();
        return base::make_error(std::string("cannot run python3 (needed for the HTTPS test servers): ") + strerror(rc));
    }

    // First line: "PORT <n>", once the server listens.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (line.find('\n') == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{out[0], POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[256];
        const ssize_t n = read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    if (sscanf(line.c_str(), "PORT %d", &port_) != 1 || port_ <= 0) {
        stop();
        return base::make_error(program + " did not start: " + read_file(dir.file("server.stderr")));
    }
    return {};
}

void ScriptServer::stop() {
    if (stdin_fd_ >= 0) {
        close(stdin_fd_);
        stdin_fd_ = -1;
    }
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        int status = 0;
        while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
}

void ScriptServer::set_script(const nlohmann::json& script) {
    write_file(dir_->file("script.json"), script.dump());
}

std::vector<std::string> ScriptServer::log_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(read_file(dir_->file("requests.log")));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

base::Result<void> WebhookServer::start(const TempDir& dir, const nlohmann::json& script, const std::string& cert) {
    return ScriptServer::start(dir, "webhook_server.py", script, cert,
                               {"--secret-file", dir.file("secret"), "--events-file", dir.file("events.jsonl")});
}

std::string WebhookServer::url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port()) + path;
}

std::vector<nlohmann::json> WebhookServer::events() const {
    std::vector<nlohmann::json> events;
    std::istringstream in(read_file(dir_->file("events.jsonl")));
    for (std::string line; std::getline(in, line);) events.push_back(nlohmann::json::parse(line));
    return events;
}

base::Result<void> DuoServer::start(const TempDir& dir, const nlohmann::json& script, const std::string& cert) {
    write_file(dir.file("duo-skey"), std::string(kDuoSkey) + "\n");
    return ScriptServer::start(dir, "duo_server.py", script, cert,
                               {"--ikey", kDuoIkey, "--skey-file", dir.file("duo-skey")});
}

std::string DuoServer::api_host() const {
    return "127.0.0.1:" + std::to_string(port());
}

base::Result<void> make_test_pki(const TempDir& dir) {
    // Loopback only: a proxy from the environment must not get in the way.
    for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) unsetenv(name);
    setenv("NO_PROXY", "*", 1);
    setenv("no_proxy", "*", 1);
    if (dir.path().empty()) return base::make_error("mkdtemp failed");
    auto pki = run({"sh", kScripts + "/make_test_ca.sh", dir.file("pki")}, dir.file("pki.log"));
    if (!pki.ok())
        return base::make_error("cannot create the test PKI (needs the openssl command): " + pki.error().message);
    write_file(dir.file("secret"), std::string(kSecret) + "\n");
    return {};
}

void HttpsFixture::SetUp() {
    auto pki = make_test_pki(dir);
    ASSERT_TRUE(pki.ok()) << pki.error().message;
    auto client = HttpClient::create();
    ASSERT_TRUE(client.ok()) << client.error().message;
    http = std::move(*client);
}

config::HttpEndpoint HttpsFixture::endpoint() const {
    config::HttpEndpoint e;
    e.ca_file = dir.file("pki/ca.pem");
    e.connect_timeout_ms = 5000;
    e.request_timeout_ms = 10000;
    return e;
}

bool HttpsFixture::drive(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{http->wake_fd(), POLLIN, 0};
        poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
        http->run_completions();
    }
    return true;
}

HttpResponse HttpsFixture::fetch(HttpRequest request) {
    std::optional<HttpResponse> response;
    http->submit(std::move(request), [&](HttpResponse r) { response = std::move(r); });
    EXPECT_TRUE(drive([&] { return response.has_value(); })) << "no response in time";
    return response.value_or(HttpResponse{});
}

int closed_port() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);  // bound, never listened: connecting is refused
    return port;
}

nlohmann::json rate_limited(const std::string& path, int count, int retry_after, const std::string& form,
                            const std::string& header) {
    nlohmann::json j = {{"default", "approve"}};
    j["rate_limit"] = {
        {"path", path}, {"count", count}, {"retry_after", retry_after}, {"form", form}, {"header", header}};
    return j;
}

PushChallenge sample_challenge(const std::string& user, const base::Clock& clock, int64_t expires_in) {
    static int n = 0;
    char id[64];
    snprintf(id, sizeof id, "5b1d7f4e-0000-4000-8000-%012d", ++n);
    PushChallenge c;
    c.id = id;
    c.user = user;
    c.role = "db admin";
    c.reason = "INC-1234";
    c.service = "sudo";
    c.remote_host = "192.0.2.7";
    c.tty = "pts/3";
    c.host = "db1.example.com";
    c.created = clock.now();
    c.expires = c.created + expires_in;
    return c;
}

}  // namespace elevate::push::test
