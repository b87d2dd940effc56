#include "train/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "common/csv.h"
#include "data/encode.h"

namespace trashcl {
namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

// Columns of metrics.csv by header name.
std::map<std::string, std::vector<double>> parse_metrics(const std::string& csv) {
  std::map<std::string, std::vector<double>> columns;
  std::stringstream stream(csv);
  std::string line;
  if (!std::getline(stream, line)) return columns;
  const std::vector<std::string> header = parse_csv_line(line);
  while (std::getline(stream, line)) {
    const std::vector<std::string> row = parse_csv_line(line);
    for (size_t i = 0; i < std::min(header.size(), row.size()); ++i) {
      try {
        columns[header[i]].push_back(std::stod(row[i]));
      } catch (const std::exception&) {
        columns[header[i]].push_back(-1);
      }
    }
  }
  return columns;
}

// A line chart of y over x; points with y < 0 (not measured) are left out.
std::string line_chart(const std::string& title, const std::vector<double>& x, const std::vector<double>& y,
                       const std::string& colour) {
  constexpr double kWidth = 420, kHeight = 220, kLeft = 48, kBottom = 28, kTop = 24;
  std::vector<std::pair<double, double>> points;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (y[i] >= 0) points.emplace_back(x[i], y[i]);
  }
  std::string svg = fmt::format(R"~(<svg viewBox="0 0 {} {}" class="chart"><text x="{}" y="16" class="title">{}</text>)~",
                                kWidth, kHeight, kLeft, escape(title));
  if (points.empty()) return svg + R"~(<text x="48" y="110">no data</text></svg>)~";
  double x_min = points.front().first, x_max = points.back().first, y_min = points[0].second, y_max = y_min;
  for (const auto& [px, py] : points) {
    y_min = std::min(y_min, py);
    y_max = std::max(y_max, py);
  }
  if (y_max - y_min < 1e-9) y_max = y_min + 1;
  if (x_max - x_min < 1e-9) x_max = x_min + 1;
  auto sx = [&](double v) { return kLeft + (v - x_min) / (x_max - x_min) * (kWidth - kLeft - 12); };
  auto sy = [&](double v) { return kHeight - kBottom - (v - y_min) / (y_max - y_min) * (kHeight - kBottom - kTop); };
  svg += fmt::format(R"~(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" class="axis"/><line x1="{0}" y1="{3}" x2="{0}" y2="{1}" class="axis"/>)~",
                     kLeft, kHeight - kBottom, kWidth - 12, kTop);
  svg += fmt::format(R"~(<text x="4" y="{}">{:.3g}</text><text x="4" y="{}">{:.3g}</text>)~", sy(y_max) + 4, y_max, sy(y_min), y_min);
  svg += fmt::format(R"~(<text x="{}" y="{}">epoch {:.0f}</text><text x="{}" y="{}" text-anchor="end">{:.0f}</text>)~", kLeft,
                     kHeight - 8, x_min, kWidth - 12, kHeight - 8, x_max);
  std::string path;
  for (const auto& [px, py] : points) path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", sx(px), sy(py));
  return svg + fmt::format(R"~(<path d="{}" fill="none" stroke="{}" stroke-width="2"/></svg>)~", path, colour);
}

std::string confusion_chart(const ClassificationReport& report, const std::vector<std::string>& names) {
  const size_t n = names.size();
  const double cell = std::max(18.0, std::min(56.0, 420.0 / std::max<size_t>(n, 1))), label = 96;
  const double side = label + cell * n;
  std::string svg = fmt::format(R"~(<svg viewBox="0 0 {} {}" class="chart"><text x="{}" y="14" class="title">confusion (rows: true, columns: predicted)</text>)~",
                                side + 8, side + 24, label);
  for (size_t t = 0; t < n; ++t) {
    int64_t row_total = 0;
    for (size_t p = 0; p < n; ++p) row_total += report.confusion[t][p];
    svg += fmt::format(R"~(<text x="{}" y="{}" text-anchor="end">{}</text>)~", label - 4, 24 + label + cell * t + cell / 2 + 4, escape(names[t]));
    svg += fmt::format(R"~(<text x="{}" y="{}" transform="rotate(-45 {} {})">{}</text>)~", label + cell * t + cell / 2, 24 + label - 4,
                       label + cell * t + cell / 2, 24 + label - 4, escape(names[t]));
    for (size_t p = 0; p < n; ++p) {
      const double share = row_total > 0 ? static_cast<double>(report.confusion[t][p]) / row_total : 0;
      const std::string fill = t == p ? fmt::format("rgba(30,130,70,{:.2f})", 0.1 + 0.9 * share)
                                      : fmt::format("rgba(200,60,40,{:.2f})", share > 0 ? 0.1 + 0.9 * share : 0.03);
      svg += fmt::format(R"~(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} as {}: {}</title></rect>)~",
                         label + cell * p, 24 + label + cell * t, cell - 1, cell - 1, fill, escape(names[t]), escape(names[p]),
                         report.confusion[t][p]);
      if (cell >= 24) {
        svg += fmt::format(R"~(<text x="{}" y="{}" text-anchor="middle" class="count">{}</text>)~", label + cell * p + cell / 2,
                           24 + label + cell * t + cell / 2 + 4, report.confusion[t][p]);
      }
    }
  }
  return svg + "</svg>";
}

std::string per_class_chart(const ClassificationReport& report, const std::vector<std::string>& names) {
  constexpr double kRow = 22, kLabel = 110, kBar = 280;
  std::string svg = fmt::format(R"~(<svg viewBox="0 0 {} {}" class="chart"><text x="{}" y="14" class="title">per-class accuracy (recall)</text>)~",
                                kLabel + kBar + 60, 24 + kRow * names.size(), kLabel);
  for (size_t c = 0; c < names.size(); ++c) {
    const double value = report.per_class_accuracy[c], y = 24 + kRow * c;
    if (report.per_class_samples[c] == 0) {
      svg += fmt::format(R"~(<text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}">no images</text>)~",
                         kLabel - 6, y + 15, escape(names[c]), kLabel + 4, y + 15);
      continue;
    }
    svg += fmt::format(R"~(<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{}" y="{}" width="{:.1f}" height="{}" fill="#2b7bb9"/><text x="{:.1f}" y="{}">{:.1f}%</text>)~",
                       kLabel - 6, y + 15, escape(names[c]), kLabel, y + 3, kBar * value, kRow - 6, kLabel + kBar * value + 4,
                       y + 15, 100 * value);
  }
  return svg + "</svg>";
}

}  // namespace

std::string percent_or_dash(double fraction, int64_t class_images) {
  return class_images > 0 ? fmt::format("{:.1f}%", 100 * fraction) : std::string("-");
}

std::string render_report_html(const std::string& title, const ClassificationReport& report,
                               const std::vector<std::string>& class_names, const std::string& metrics_csv) {
  auto columns = parse_metrics(metrics_csv);
  std::string html = R"~(<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">)~";
  html += "<title>" + escape(title) + "</title><style>"
          "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222;max-width:70rem}"
          ".charts{display:flex;flex-wrap:wrap;gap:1rem}.chart{width:min(100%,30rem);font-size:11px}"
          ".title{font-weight:600;font-size:12px}.axis{stroke:#999}.count{font-size:10px}"
          "table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:right}"
          "</style></head><body>";
  html += "<h1>" + escape(title) + "</h1>";
  html += fmt::format("<p>{} images: top-1 <b>{:.2f}%</b>, macro-F1 <b>{:.2f}%</b>, macro precision {:.2f}%, macro recall {:.2f}%{}</p>",
                      report.samples, 100 * report.top1, 100 * report.macro_f1, 100 * report.macro_precision,
                      100 * report.macro_recall, report.top5 >= 0 ? fmt::format(", top-5 {:.2f}%", 100 * report.top5) : "");
  html += "<h2>Training</h2><div class=\"charts\">";
  html += line_chart("training loss", columns["epoch"], columns["loss"], "#c0392b");
  html += line_chart("validation top-1", columns["epoch"], columns["val_top1"], "#27ae60");
  html += line_chart("learning rate", columns["epoch"], columns["lr"], "#8e44ad");
  html += "</div><h2>Classes</h2><div class=\"charts\">";
  html += confusion_chart(report, class_names);
  html += per_class_chart(report, class_names);
  html += "</div><table><tr><th>class</th><th>images</th><th>accuracy</th><th>precision</th><th>F1</th></tr>";
  for (size_t c = 0; c < class_names.size(); ++c) {
    const int64_t images = report.per_class_samples[c];
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</td><td>{}</td></tr>", escape(class_names[c]),
                        images, percent_or_dash(report.per_class_accuracy[c], images),
                        100 * report.per_class_precision[c], percent_or_dash(report.per_class_f1[c], images));
  }
  return html + "</table></body></html>\n";
}

void write_report_html(const std::filesystem::path& run_dir, const std::string& title,
                       const ClassificationReport& report, const std::vector<std::string>& class_names) {
  std::ifstream metrics(run_dir / "metrics.csv");
  std::stringstream metrics_text;
  metrics_text << metrics.rdbuf();
  const std::string html = render_report_html(title, report, class_names, metrics_text.str());
  write_text_atomic(run_dir / "report.html", html);
}

}  // namespace trashcl
