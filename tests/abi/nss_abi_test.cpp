// The ABI of libnss_elevate.so.2, read from the ELF file itself (no
// binutils needed): it needs libc only (no libstdc++, libgcc_s, libm...),
// exports exactly the _nss_elevate_* entry points, imports nothing C++,
// has the right SONAME, no RPATH/RUNPATH, no text relocations, BIND_NOW, a
// non-executable stack, and no initialisers of its own. DESIGN.md
// invariant 8; STYLE.md rule 5.
#include <dlfcn.h>
#include <elf.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Symbol {
    std::string name;
    bool defined;
    unsigned bind;
    unsigned type;
    unsigned visibility;
};

struct ElfInfo {
    std::vector<std::string> needed;
    std::string soname;
    bool rpath = false, runpath = false, textrel = false, bind_now = false;
    uint64_t init_array_size = 0;
    bool has_init = false;
    std::vector<Symbol> dynsyms;
    std::set<std::string> verneed_files;
    bool exec_stack = true;
};

std::vector<uint8_t> slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

template <typename T>
T at(const std::vector<uint8_t>& b, uint64_t off) {
    if (off > b.size() || sizeof(T) > b.size() - off) throw std::runtime_error("ELF offset out of range");
    T v;
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
}

std::string str_at(const std::vector<uint8_t>& b, uint64_t off) {
    if (off >= b.size()) throw std::runtime_error("ELF string out of range");
    const char* s = reinterpret_cast<const char*>(b.data() + off);
    return std::string(s, strnlen(s, b.size() - off));
}

ElfInfo read_elf(const std::string& path) {
    const std::vector<uint8_t> b = slurp(path);
    const auto eh = at<Elf64_Ehdr>(b, 0);
    if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
        throw std::runtime_error("not an ELF64 file");
    ElfInfo info;
    std::vector<Elf64_Shdr> sections;
    for (unsigned i = 0; i < eh.e_shnum; ++i)
        sections.push_back(at<Elf64_Shdr>(b, eh.e_shoff + uint64_t(i) * eh.e_shentsize));
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
        auto ph = at<Elf64_Phdr>(b, eh.e_phoff + uint64_t(i) * eh.e_phentsize);
        if (ph.p_type == PT_GNU_STACK) info.exec_stack = (ph.p_flags & PF_X) != 0;
    }
    for (const auto& sh : sections) {
        if (sh.sh_type == SHT_DYNAMIC) {
            const auto& strtab = sections.at(sh.sh_link);
            for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= sh.sh_size; off += sizeof(Elf64_Dyn)) {
                auto d = at<Elf64_Dyn>(b, sh.sh_offset + off);
                switch (d.d_tag) {
                    case DT_NEEDED:
                        info.needed.push_back(str_at(b, strtab.sh_offset + d.d_un.d_val));
                        break;
                    case DT_SONAME:
                        info.soname = str_at(b, strtab.sh_offset + d.d_un.d_val);
                        break;
                    case DT_RPATH:
                        info.rpath = true;
                        break;
                    case DT_RUNPATH:
                        info.runpath = true;
                        break;
                    case DT_TEXTREL:
                        info.textrel = true;
                        break;
                    case DT_BIND_NOW:
                        info.bind_now = true;
                        break;
                    case DT_FLAGS:
                        if (d.d_un.d_val & DF_BIND_NOW) info.bind_now = true;
                        if (d.d_un.d_val & DF_TEXTREL) info.textrel = true;
                        break;
                    case DT_INIT_ARRAYSZ:
                        info.init_array_size = d.d_un.d_val;
                        break;
                    case DT_INIT:
                        info.has_init = true;
                        break;
                    default:
                        break;
                }
            }
        } else if (sh.sh_type == SHT_DYNSYM) {
            const auto& strtab = sections.at(sh.sh_link);
            for (uint64_t off = sizeof(Elf64_Sym); off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
                auto s = at<Elf64_Sym>(b, sh.sh_offset + off);
                info.dynsyms.push_back({str_at(b, strtab.sh_offset + s.st_name), s.st_shndx != SHN_UNDEF,
                                        unsigned(ELF64_ST_BIND(s.st_info)), unsigned(ELF64_ST_TYPE(s.st_info)),
                                        unsigned(ELF64_ST_VISIBILITY(s.st_other))});
            }
        } else if (sh.sh_type == SHT_GNU_verneed) {
            const auto& strtab = sections.at(sh.sh_link);
            uint64_t off = sh.sh_offset;
            for (unsigned n = 0; n < sh.sh_info; ++n) {
                auto vn = at<Elf64_Verneed>(b, off);
                info.verneed_files.insert(str_at(b, strtab.sh_offset + vn.vn_file));
                if (vn.vn_next == 0) break;
                off += vn.vn_next;
            }
        }
    }
    return info;
}

const std::set<std::string> kEntryPoints = {
    "_nss_elevate_getgrnam_r", "_nss_elevate_getgrgid_r", "_nss_elevate_setgrent",
    "_nss_elevate_getgrent_r", "_nss_elevate_endgrent",   "_nss_elevate_initgroups_dyn",
};

class NssAbi : public ::testing::Test {
protected:
    ElfInfo elf = read_elf(NSS_MODULE_PATH);
};

TEST_F(NssAbi, NeedsLibcOnly) {
    ASSERT_FALSE(elf.needed.empty());
    for (const auto& n : elf.needed)
        EXPECT_TRUE(n == "libc.so.6" || n == "ld-linux-x86-64.so.2" || n == "ld-linux-aarch64.so.1")
            << "unexpected DT_NEEDED " << n;
    EXPECT_NE(std::find(elf.needed.begin(), elf.needed.end(), "libc.so.6"), elf.needed.end());
    for (const auto& f : elf.verneed_files) EXPECT_TRUE(f == "libc.so.6" || f.rfind("ld-linux", 0) == 0) << f;
}

TEST_F(NssAbi, ExportsExactlyTheEntryPoints) {
    std::set<std::string> exported;
    for (const auto& s : elf.dynsyms)
        if (s.defined && s.bind != STB_LOCAL && s.visibility == STV_DEFAULT) exported.insert(s.name);
    EXPECT_EQ(exported, kEntryPoints);
    for (const auto& s : elf.dynsyms)
        if (kEntryPoints.count(s.name)) {
            EXPECT_EQ(s.type, unsigned(STT_FUNC)) << s.name;
        }
}

TEST_F(NssAbi, ImportsNothingFromTheCxxRuntime) {
    for (const auto& s : elf.dynsyms) {
        if (s.defined) continue;
        EXPECT_NE(s.name.rfind("_Z", 0), 0u) << "C++ symbol imported: " << s.name;
        // __cxa_finalize (weak, from crtbeginS.o) is libc's.
        EXPECT_TRUE(s.name.rfind("__cxa_", 0) != 0 || s.name == "__cxa_finalize") << s.name;
        EXPECT_EQ(s.name.find("__gxx_"), std::string::npos) << s.name;
        EXPECT_EQ(s.name.find("_Unwind_"), std::string::npos) << s.name;
    }
}

TEST_F(NssAbi, SonameAndHardening) {
    EXPECT_EQ(elf.soname, "libnss_elevate.so.2");
    EXPECT_FALSE(elf.rpath);
    EXPECT_FALSE(elf.runpath);
    EXPECT_FALSE(elf.textrel);
    EXPECT_TRUE(elf.bind_now);
    EXPECT_FALSE(elf.exec_stack);
}

TEST_F(NssAbi, NoInitialisersOfItsOwn) {
    // crtbeginS.o contributes one entry (frame_dummy); a constructor in the
    // module (a static object, __attribute__((constructor))) would add more.
    EXPECT_LE(elf.init_array_size, sizeof(void*));
}

TEST_F(NssAbi, LoadsWithBindNowAndResolvesEveryEntryPoint) {
    void* h = dlopen(NSS_MODULE_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    for (const auto& name : kEntryPoints) EXPECT_NE(dlsym(h, name.c_str()), nullptr) << name;
    EXPECT_EQ(dlsym(h, "_ZN7elevate8snapshot4View8validateEPKvmPS1_"), nullptr);
    dlclose(h);
}

}  // namespace
