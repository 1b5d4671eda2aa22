// Helpers for running a test on every ISA this CPU supports.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "qk.h"

namespace qk_test {

// The compiled-in ISAs this CPU can run, in the library's order (generic first).
inline std::vector<std::string> SupportedIsas() {
  std::vector<std::string> isas;
  std::stringstream ss(qk_compiled_isas());
  for (std::string isa; ss >> isa;) {
    if (qk_isa_is_supported(isa.c_str())) isas.push_back(isa);
  }
  return isas;
}

// Selects an ISA for the scope (operators created inside use it), restores the default after.
class ScopedIsa {
 public:
  explicit ScopedIsa(const std::string& isa) {
    EXPECT_EQ(qk_set_isa(isa.c_str()), QK_SUCCESS) << qk_last_error();
  }
  ~ScopedIsa() { qk_set_isa(nullptr); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;
};

}  // namespace qk_test
