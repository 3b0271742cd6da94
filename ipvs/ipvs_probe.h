// Whether this kernel has IPVS, loading the ip_vs module if it is one.
#pragma once

#include "common/result.h"

namespace shoal::lb {

// IPVS: present only when the kernel has it. Returns the reason in one line when it does not.
Status ipvs_available();

}  // namespace shoal::lb
