// Classification metrics from a confusion matrix: what `trashcl eval` reports and training logs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace trashcl {

struct ClassificationReport {
  int64_t samples = 0;
  double top1 = 0;                              // fraction correct
  double top5 = -1;                             // -1 when there are 5 classes or fewer
  // Averages over the classes with at least one image, so a data set holding some of the model's classes is
  // not marked down for the others.
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  std::vector<int64_t> per_class_samples;       // [N], images of each class (rows of the confusion matrix)
  std::vector<double> per_class_accuracy;       // [N], recall of each class; 0 where per_class_samples is 0
  std::vector<double> per_class_precision;      // [N], 0 for a class never predicted
  std::vector<double> per_class_f1;             // [N]
  std::vector<std::vector<int64_t>> confusion;  // [N][N], row = true class, column = predicted
  // Accuracy by training-set class frequency (the long-tail convention: many > 100, medium 20-100, few < 20
  // training images); -1 where no class falls in the group.
  double many_shot = -1, medium_shot = -1, few_shot = -1;
};

// Accumulates predictions and builds the report.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int num_classes);
  void add(int truth, int predicted, bool in_top5 = false);
  ClassificationReport report(const std::vector<int64_t>& train_class_counts = {}) const;

 private:
  int num_classes_;
  std::vector<std::vector<int64_t>> counts_;
  int64_t top5_hits_ = 0;
};

}  // namespace trashcl
