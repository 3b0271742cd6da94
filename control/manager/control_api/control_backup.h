// Control.Backup's helpers shared with Daemon::restore.
#pragma once

#include "control/manager/backup/backup.h"
#include "swarm.pb.h"

namespace shoal::manager {

// Counts and identity of a backup, for the CLI's report.
void fill_summary(const Backup& backup, api::BackupSummary& out);

}  // namespace shoal::manager
