// The three symbols Jazzer.js 4's prebuilt Linux addon needs from glibc 2.38 / GCC 13's
// libstdc++ that Debian 12 (glibc 2.36, GCC 12) lacks. addon-compat.ts builds this into a small
// library preloaded into the fuzzer; the versions come from glibc-compat.map.
#include <cstdlib>
#include <ios>
// C23 strtol/strtoul also read a 0b prefix; the addon parses libFuzzer's decimal flags only.
extern "C" long __isoc23_strtol(const char *s, char **end, int base) { return std::strtol(s, end, base); }
extern "C" unsigned long __isoc23_strtoul(const char *s, char **end, int base) { return std::strtoul(s, end, base); }
// GCC 13 moved the iostream initialisation into libstdc++ and has objects call this instead.
namespace std {
void ios_base_library_init() { static ios_base::Init init; }
}
