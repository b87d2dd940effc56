// report.html: training curves, confusion matrix and per-class accuracy as inline SVG in one file,
// readable offline and at a glance.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "train/metrics.h"

namespace trashcl {

// A class's accuracy or F1 (a fraction) as "83.3%", or "-" for a class with no images, where neither is defined.
std::string percent_or_dash(double fraction, int64_t class_images);

// metrics_csv: the run's metrics.csv text (may be empty: no curves then).
std::string render_report_html(const std::string& title, const ClassificationReport& report,
                               const std::vector<std::string>& class_names, const std::string& metrics_csv);

// Writes RUN_DIR/report.html (atomically) with the curves of RUN_DIR/metrics.csv when there is one.
void write_report_html(const std::filesystem::path& run_dir, const std::string& title,
                       const ClassificationReport& report, const std::vector<std::string>& class_names);

}  // namespace trashcl
