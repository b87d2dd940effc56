// The JSON API: GET /health, GET /v1/model, POST /v1/classify, POST /v1/similar, GET /metrics.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/clock.h"
#include "common/error.h"
#include "serve/state.h"
#include "train/checkpoint.h"

namespace trashcl {
namespace {

constexpr int kMaxTopK = 100;  // bounds the size of an answer; a gallery or class list is rarely looked at further

void send_json(httplib::Response& res, const nlohmann::json& body) {
  res.status = 200;
  res.set_content(body.dump(), "application/json");
}

struct Upload {
  std::string bytes;
  std::string name;  // for messages: the form field's file name, or "request body"
};

// Reads the whole body (so a keep-alive connection is left at the next request whatever the answer): the
// multipart form field `image`, or else the body as it is, whatever its content type.
Upload read_upload(const httplib::Request& req, const httplib::Response& res, const httplib::ContentReader& reader,
                   int max_body_mb) {
  Upload upload;
  bool ok = false, found = false, in_image = false;
  if (req.is_multipart_form_data()) {
    ok = reader(
        [&](const httplib::MultipartFormData& field) {
          in_image = field.name == "image" && !found;  // the first `image` field counts; other fields are skipped
          found = found || in_image;
          if (in_image) upload.name = field.filename.empty() ? "image" : field.filename;
          return true;
        },
        [&](const char* data, size_t size) {
          if (in_image) upload.bytes.append(data, size);
          return true;
        });
  } else {
    upload.name = "request body";
    found = true;
    ok = reader([&](const char* data, size_t size) {
      upload.bytes.append(data, size);
      return true;
    });
  }
  if (!ok && res.status == 413) throw HttpError(413, body_too_large_message(max_body_mb));
  if (!ok && !req.has_header("Content-Length") && !req.has_header("Transfer-Encoding")) {
    throw HttpError(400, "the request has no body (no Content-Length); send a JPEG or PNG image as the body or as "
                         "multipart form field 'image'");
  }
  if (!ok && req.is_multipart_form_data()) {
    throw HttpError(400, "malformed multipart form; send the photo as field 'image' (curl -F image=@photo.jpg)");
  }
  if (!ok) throw HttpError(400, "the request body could not be read: the upload stalled or ended early");
  if (!found) {
    throw HttpError(400, "the multipart form has no 'image' field; send the photo as field 'image' "
                         "(curl -F image=@photo.jpg) or as the raw request body");
  }
  if (upload.bytes.empty() && upload.name == "request body") {
    throw HttpError(400, "the request body is empty; send a JPEG or PNG image as the body or as multipart form field 'image'");
  }
  return upload;
}

// A positive integer query parameter no larger than `most`, or `fallback` when the query does not have it.
int query_count(const httplib::Request& req, const std::string& key, int fallback, int most) {
  if (!req.has_param(key)) return fallback;
  const std::string text = req.get_param_value(key);
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < 1 || value > most) {
    throw HttpError(400, fmt::format("query parameter {}={} must be a whole number from 1 to {}", key, text, most));
  }
  return value;
}

nlohmann::json prediction_json(const Prediction& prediction) {
  nlohmann::json top = nlohmann::json::array();
  for (const ClassProbability& entry : prediction.top) top.push_back({{"class", entry.name}, {"prob", entry.prob}});
  return {{"top", top}, {"bin", prediction.bin}, {"hash", prediction.hash}};
}

// Decode here, in the HTTP worker, then wait for the inference thread's batch that includes the image.
Prediction classify_upload(ServeState& state, InferenceBatcher::Upcoming& upcoming, const Upload& upload, int top_k) {
  Image image;
  try {
    image = state.predictor.decode_bytes(upload.bytes, upload.name);
  } catch (const BadImageError& error) {
    throw HttpError(400, fmt::format("{}: not a usable image: {}", upload.name, error.reason()));
  }
  try {
    return state.batcher.submit(upcoming, std::move(image), top_k).get();
  } catch (const InferenceBatcher::ShuttingDown& error) {
    throw HttpError(503, error.what());
  }
}

nlohmann::json similar_json(const ServeState& state, const Prediction& prediction, int k) {
  nlohmann::json similar = nlohmann::json::array();
  for (const Neighbour& neighbour : state.index->search(prediction.code_words, k)) {
    const GalleryItem& item = state.index->items()[static_cast<size_t>(neighbour.item)];
    similar.push_back({{"item", neighbour.item}, {"path", item.path}, {"label", item.label},
                       {"distance", neighbour.distance}, {"url", fmt::format("/gallery/{}", neighbour.item)}});
  }
  return similar;
}

void handle_predict(ServeState& state, const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader, bool similar) {
  const Clock::time_point started = Clock::now();
  InferenceBatcher::Upcoming upcoming(state.batcher);  // from now on a batch may wait for this image
  const Upload upload = read_upload(req, res, reader, state.options.max_body_mb);
  if (similar && !state.index) {
    throw HttpError(409, "no gallery index is loaded; start the server with --index FILE "
                         "(build one with `trashcl index build`), or use /v1/classify");
  }
  const int top_k = query_count(req, "top_k", 3, kMaxTopK);
  const int k = similar ? query_count(req, "k", 5, kMaxTopK) : 0;
  const Prediction prediction = classify_upload(state, upcoming, upload, top_k);
  nlohmann::json body = prediction_json(prediction);
  if (similar) body["similar"] = similar_json(state, prediction, k);
  body["latency_ms"] = 1000 * seconds_since(started);
  send_json(res, body);
}

nlohmann::json model_json(const ServeState& state) {
  const CheckpointMeta& meta = state.predictor.meta();
  nlohmann::json gallery{{"loaded", state.index.has_value()}, {"size", state.index ? state.index->size() : 0}};
  return {{"model", std::filesystem::path(state.options.model).filename().string()},
          {"classes", meta.class_names},
          {"bins", meta.class_bins},
          {"image_size", meta.image_size},
          {"hash_bits", state.predictor.hash_bits()},
          {"backbone", state.predictor.config().backbone},
          {"predict_prior", state.predictor.config().predict_prior},
          {"backbone_path", state.predictor.inference().backbone_path()},
          {"format_version", meta.format_version},
          {"step", meta.step},
          {"trashcl_version", TRASHCL_VERSION},
          {"gallery", gallery}};
}

}  // namespace

std::vector<Route> api_routes(ServeState& state) {
  return {
      {"GET", "/health", "/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); }},
      {"GET", "/v1/model", "/v1/model",
       [&state](const httplib::Request&, httplib::Response& res) { send_json(res, model_json(state)); }},
      {"POST", "/v1/classify", "/v1/classify", nullptr,
       [&state](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
         handle_predict(state, req, res, reader, false);
       }},
      {"POST", "/v1/similar", "/v1/similar", nullptr,
       [&state](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
         handle_predict(state, req, res, reader, true);
       }},
      {"GET", "/metrics", "/metrics",
       [&state](const httplib::Request&, httplib::Response& res) {
         res.set_content(state.metrics.prometheus_text(), "text/plain; version=0.0.4; charset=utf-8");
       }},
  };
}

}  // namespace trashcl
