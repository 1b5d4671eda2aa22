// Helpers for running a test on every ISA this CPU supports.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "arch/cpu.h"
#include "arch/dispatch.h"
#include "qk.h"

namespace qk_test {

// The compiled-in ISA tables this CPU can run, generic first (for microkernel testers).
inline std::vector<const qk_isa_config*> RunnableConfigs(bool with_generic = true) {
  size_t count = 0;
  const qk_isa_config* const* all = qk_isa_compiled(&count);
  std::vector<const qk_isa_config*> out;
  const uint32_t features = qk_cpu_detect()->features;
  for (size_t i = with_generic ? 0 : 1; i < count; i++) {
    if ((features & all[i]->required_features) == all[i]->required_features) out.push_back(all[i]);
  }
  return out;
}

// The generic table: the specification.
inline const qk_isa_config* GenericConfig() {
  size_t count = 0;
  return qk_isa_compiled(&count)[0];
}

// gtest parameter names: the ISA's name.
inline std::string IsaName(const testing::TestParamInfo<const qk_isa_config*>& info) {
  return info.param->name;
}

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
