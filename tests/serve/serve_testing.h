// What the serve tests share: a tiny untrained checkpoint (support/tiny_model.h) with a gallery index, JPEG bytes of test images, and
// a server running in this process on 127.0.0.1 with an ephemeral port.
// (Helpers of one test folder live in headers: the test CMake function compiles only test_*.cpp from here.)
#pragma once
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "data/encode.h"
#include "data/synth.h"
#include "infer/predictor.h"
#include "model/contrastive_classifier.h"
#include "retrieval/hash_index.h"
#include "serve/server.h"
#include "support/test_support.h"
#include "support/tiny_model.h"

namespace trashcl::testing {

inline std::string jpeg_bytes(const Image& image) {
  const std::vector<uint8_t> bytes = encode_jpeg(image, 92);
  return std::string(bytes.begin(), bytes.end());
}

// One per class, so every bin has a class: bottle -> recyclable, food -> kitchen, battery -> hazardous, trash -> other.
inline const std::vector<std::string>& tiny_classes() {
  static const std::vector<std::string> names{"bottle", "food", "battery", "trash"};
  return names;
}

// The model, 8 gallery photos under gallery/ (2 per class, synthetic) and their index, made once per test run.
struct TinyModel {
  TempDir dir{"trashcl-serve-test"};
  std::filesystem::path checkpoint = dir / "tiny.ckpt";
  std::filesystem::path gallery = dir / "gallery";  // the index's paths are relative to it (its --data)
  std::filesystem::path index = dir / "gallery.idx";
  std::vector<std::string> gallery_files;           // relative paths, in index order

  TinyModel() {
    write_untrained_checkpoint(checkpoint, tiny_model_config(), tiny_classes(),
                               std::vector<int64_t>(tiny_classes().size(), 10), 7);
    Predictor predictor(checkpoint);
    HashIndex built(predictor.hash_bits(), tiny_classes());
    for (int i = 0; i < 8; ++i) {
      const int label = i % 4;
      const std::string relative = tiny_classes()[label] + "/" + std::to_string(i) + ".jpg";
      const std::string bytes = jpeg_bytes(synth_image(label, 64, 48, static_cast<uint64_t>(i)));
      write_bytes(gallery / relative, bytes);
      const Image image = predictor.decode_bytes(bytes, relative);
      built.add(predictor.predict({&image})[0].code_words, {relative, tiny_classes()[label]});
      gallery_files.push_back(relative);
    }
    built.save(index);
  }
};

inline const TinyModel& tiny_model() {
  static const TinyModel model;
  return model;
}

inline ServeOptions tiny_serve_options(bool with_index) {
  ServeOptions options;
  options.model = tiny_model().checkpoint.string();
  options.port = 0;
  if (with_index) {
    options.index = tiny_model().index.string();
    options.data = tiny_model().gallery.string();
  }
  return options;
}

// A Server on its own thread for the test's lifetime; stop() and join on destruction.
class RunningServer {
 public:
  explicit RunningServer(const ServeOptions& options) : server_(options) {
    port_ = server_.bind();
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string url() const { return server_.url(); }
  // A client with generous timeouts: the machine running the tests may be busy.
  std::unique_ptr<httplib::Client> client() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(30, 0);
    client->set_write_timeout(30, 0);
    return client;
  }

 private:
  Server server_;
  int port_ = 0;
  std::thread thread_;
};

// A plain TCP connection to the server, for requests no HTTP client library would write or send that way.
class RawConnection {
 public:
  explicit RawConnection(int port) : sock_(::socket(AF_INET, SOCK_STREAM, 0)) {
    const timeval timeout{10, 0};
    ::setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(sock_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(sock_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send(const std::string& bytes) {
    return connected_ && ::send(sock_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // One answer: its headers and Content-Length bytes of body ("" when none came within 10 s).
  std::string answer() {
    std::string answer;
    char chunk[4096];
    for (ssize_t got; (got = ::recv(sock_, chunk, sizeof chunk, 0)) > 0;) {
      answer.append(chunk, static_cast<size_t>(got));
      const auto end = answer.find("\r\n\r\n");
      const auto length = answer.find("Content-Length: ");
      if (end != std::string::npos && length != std::string::npos &&
          answer.size() >= end + 4 + std::stoul(answer.substr(length + 16))) {
        break;
      }
    }
    return answer;
  }

 private:
  int sock_;
  bool connected_ = false;
};

inline std::string raw_exchange(int port, const std::string& request) {
  RawConnection connection(port);
  return connection.send(request) ? connection.answer() : "";
}

// POSTs `bytes` as multipart form field `image`.
inline httplib::Result post_image(httplib::Client& client, const std::string& path, const std::string& bytes) {
  const httplib::MultipartFormDataItems items{{"image", bytes, "photo.jpg", "image/jpeg"}};
  return client.Post(path.c_str(), items);
}

inline nlohmann::json json_of(const httplib::Result& result) { return nlohmann::json::parse(result->body); }

}  // namespace trashcl::testing
