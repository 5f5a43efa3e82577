#include "cli/qr.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

namespace elevate::cli {

namespace {

struct QrFree {
    void operator()(QRcode* q) const { QRcode_free(q); }
};

// Quiet zone around the symbol, in modules. The standard asks for 4; 2 is
// what terminal renderers use and scanners accept it.
constexpr int kQuiet = 2;

// A module is light (drawn in the foreground colour) outside the symbol or
// where libqrencode's bit 0 ("black") is clear.
bool light(const QRcode& q, int x, int y) {
    if (x < 0 || y < 0 || x >= q.width || y >= q.width) return true;
    return (q.data[y * q.width + x] & 1) == 0;
}

}  // namespace

base::Result<std::string> render_qr(std::string_view text) {
    const std::string input(text);  // libqrencode wants a NUL-terminated string
    errno = 0;
    std::unique_ptr<QRcode, QrFree> q(QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_M));
    if (!q) return base::errno_error("cannot make a QR code", errno == 0 ? EINVAL : errno);

    static constexpr const char* kBoth = "\u2588";        // full block
    static constexpr const char* kUpper = "\u2580";       // upper half
    static constexpr const char* kLower = "\u2584";       // lower half
    static constexpr const char* kStart = "\x1b[97;40m";  // bright white on black
    static constexpr const char* kReset = "\x1b[0m";

    std::string out;
    const int lo = -kQuiet;
    const int hi = q->width + kQuiet;
    for (int y = lo; y < hi; y += 2) {
        out += kStart;
        for (int x = lo; x < hi; ++x) {
            const bool top = light(*q, x, y);
            const bool bottom = light(*q, x, y + 1);
            out += top && bottom ? kBoth : top ? kUpper : bottom ? kLower : " ";
        }
        out += kReset;
        out += '\n';
    }
    return out;
}

}  // namespace elevate::cli
