#include "train/metrics.h"

#include <stdexcept>

namespace trashcl {

ConfusionMatrix::ConfusionMatrix(int num_classes)
    : num_classes_(num_classes), counts_(num_classes, std::vector<int64_t>(num_classes, 0)) {}

void ConfusionMatrix::add(int truth, int predicted, bool in_top5) {
  if (truth < 0 || truth >= num_classes_ || predicted < 0 || predicted >= num_classes_) {
    throw std::out_of_range("ConfusionMatrix::add: class index out of range");
  }
  ++counts_[truth][predicted];
  top5_hits_ += in_top5;
}

ClassificationReport ConfusionMatrix::report(const std::vector<int64_t>& train_class_counts) const {
  ClassificationReport report;
  report.confusion = counts_;
  const int n = num_classes_;
  std::vector<int64_t> row_sum(n, 0), column_sum(n, 0);
  int64_t correct = 0;
  for (int t = 0; t < n; ++t) {
    for (int p = 0; p < n; ++p) {
      row_sum[t] += counts_[t][p];
      column_sum[p] += counts_[t][p];
    }
    correct += counts_[t][t];
    report.samples += row_sum[t];
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  report.top1 = ratio(correct, report.samples);
  if (n > 5) report.top5 = ratio(top5_hits_, report.samples);
  int classes_with_images = 0;
  for (int c = 0; c < n; ++c) {
    const double recall = ratio(counts_[c][c], row_sum[c]);
    const double precision = ratio(counts_[c][c], column_sum[c]);
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    report.per_class_samples.push_back(row_sum[c]);
    report.per_class_accuracy.push_back(recall);
    report.per_class_precision.push_back(precision);
    report.per_class_f1.push_back(f1);
    if (row_sum[c] == 0) continue;
    ++classes_with_images;
    report.macro_precision += precision;
    report.macro_recall += recall;
    report.macro_f1 += f1;
  }
  report.macro_precision = ratio(report.macro_precision, classes_with_images);
  report.macro_recall = ratio(report.macro_recall, classes_with_images);
  report.macro_f1 = ratio(report.macro_f1, classes_with_images);
  if (static_cast<int>(train_class_counts.size()) == n) {
    // Sample-weighted accuracy over the classes of each frequency group.
    int64_t hits[3] = {0, 0, 0}, totals[3] = {0, 0, 0};
    for (int c = 0; c < n; ++c) {
      const int group = train_class_counts[c] > 100 ? 0 : (train_class_counts[c] >= 20 ? 1 : 2);
      hits[group] += counts_[c][c];
      totals[group] += row_sum[c];
    }
    double* targets[3] = {&report.many_shot, &report.medium_shot, &report.few_shot};
    for (int g = 0; g < 3; ++g) {
      if (totals[g] > 0) *targets[g] = static_cast<double>(hits[g]) / totals[g];
    }
  }
  return report;
}

}  // namespace trashcl
