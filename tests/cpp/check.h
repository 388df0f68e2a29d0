#pragma once
// The checks of the plain C++ test programs: each failed check is printed and counted, and
// main() returns check_summary() (nonzero when any failed).
#include <corten/errors.h>

#include <cstdio>
#include <exception>

namespace corten_test {

inline int g_failures = 0;
inline int g_checks = 0;

/// Prints the counts; the process's exit status.
inline int check_summary() {
  std::printf("%d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}

}  // namespace corten_test

#define CHECK(cond)                                                        \
  do {                                                                     \
    ++::corten_test::g_checks;                                             \
    if (!(cond)) {                                                         \
      ++::corten_test::g_failures;                                         \
      std::printf("%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

// Checks that `expr` throws exactly the corten exception type E (and is a corten::Error).
#define CHECK_THROWS(E, expr)                                                                      \
  do {                                                                                             \
    ++::corten_test::g_checks;                                                                     \
    bool caught_ = false;                                                                          \
    try {                                                                                          \
      (void)(expr);                                                                                \
    } catch (const E& e_) {                                                                        \
      caught_ = dynamic_cast<const corten::Error*>(&e_) != nullptr;                                \
    } catch (const std::exception& e_) {                                                           \
      std::printf("%s:%d: %s threw another exception: %s\n", __FILE__, __LINE__, #expr,            \
                  e_.what());                                                                      \
    }                                                                                              \
    if (!caught_) {                                                                                \
      ++::corten_test::g_failures;                                                                 \
      std::printf("%s:%d: CHECK_THROWS failed: %s does not throw %s\n", __FILE__, __LINE__, #expr, \
                  #E);                                                                             \
    }                                                                                              \
  } while (0)
