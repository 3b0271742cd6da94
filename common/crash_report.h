// A backtrace on the way down. A daemon that dies of a fatal signal (a segfault, or glibc's
// abort on a corrupt heap) writes the failing thread's stack to stderr, which is its log, before
// the signal takes its default course (core dump or not, as the host says). Without it a crash
// on a CI machine leaves one line ("double free or corruption") and nothing to look at.
#pragma once

namespace shoal {

// Installs the handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT; `program` names the
// report. Call it once, early in main.
void report_crashes(const char* program);

}  // namespace shoal
