// A minimal W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over chromedriver's HTTP API: enough to
// open a page in headless Chromium, hand a file to an <input type=file>, read text and take a screenshot.
#pragma once
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace trashcl::testing {

// Standard base64 (RFC 4648) to bytes, for the screenshot PNG.
inline std::string base64_decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string bytes;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) continue;  // padding and line breaks
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      bytes.push_back(static_cast<char>((bits >> count) & 0xFF));
    }
  }
  return bytes;
}

class WebDriverSession {
 public:
  // Opens a browser session on the chromedriver at 127.0.0.1:port; throws std::runtime_error on failure.
  WebDriverSession(int port, const nlohmann::json& capabilities) : client_("127.0.0.1", port) {
    client_.set_read_timeout(120, 0);  // starting a browser on a busy machine takes a while
    const nlohmann::json value = call("POST", "/session", {{"capabilities", capabilities}});
    id_ = value.at("sessionId").get<std::string>();
  }
  ~WebDriverSession() {
    try {
      call("DELETE", "/session/" + id_);
    } catch (const std::exception&) {
      // the browser is gone already; nothing left to close
    }
  }
  WebDriverSession(const WebDriverSession&) = delete;
  WebDriverSession& operator=(const WebDriverSession&) = delete;

  void navigate(const std::string& url) { command("POST", "/url", {{"url", url}}); }

  // The element's reference for a CSS selector; throws when there is none.
  std::string find(const std::string& css) {
    const nlohmann::json value = command("POST", "/element", {{"using", "css selector"}, {"value", css}});
    if (!value.is_object() || !value.contains(kElementKey)) throw std::runtime_error("find " + css + ": " + value.dump());
    return value[kElementKey].get<std::string>();
  }
  size_t count(const std::string& css) {
    return command("POST", "/elements", {{"using", "css selector"}, {"value", css}}).size();
  }
  // For <input type=file> the text is a path on the browser's machine: the browser uploads that file.
  void send_keys(const std::string& element, const std::string& text) {
    command("POST", "/element/" + element + "/value", {{"text", text}});
  }
  std::string text(const std::string& element) { return command("GET", "/element/" + element + "/text").get<std::string>(); }
  nlohmann::json attribute(const std::string& element, const std::string& name) {
    return command("GET", "/element/" + element + "/attribute/" + name);
  }
  // Runs JavaScript in the page and returns what it returns.
  nlohmann::json execute(const std::string& script) {
    return command("POST", "/execute/sync", {{"script", script}, {"args", nlohmann::json::array()}});
  }
  // The viewport as PNG bytes.
  std::string screenshot() { return base64_decode(command("GET", "/screenshot").get<std::string>()); }

  // Polls the element's text until it is not empty; "" after `timeout`.
  std::string wait_for_text(const std::string& css, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string element = find(css);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string shown = text(element);
      if (!shown.empty()) return shown;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }

 private:
  static constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";  // the spec's element key

  nlohmann::json command(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) {
    return call(method, "/session/" + id_ + path, body);
  }

  // One WebDriver command: its "value", or std::runtime_error with the driver's error and message.
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json& body = nullptr) {
    httplib::Result result{nullptr, httplib::Error::Unknown};
    const std::string payload = body.is_null() ? "{}" : body.dump();
    if (method == "GET") {
      result = client_.Get(path.c_str());
    } else if (method == "DELETE") {
      result = client_.Delete(path.c_str());
    } else {
      result = client_.Post(path.c_str(), payload, "application/json");
    }
    if (!result) throw std::runtime_error(method + " " + path + ": no answer from chromedriver: " + httplib::to_string(result.error()));
    const auto reply = nlohmann::json::parse(result->body, nullptr, false);
    if (result->status != 200 || !reply.is_object() || !reply.contains("value")) {
      throw std::runtime_error(method + " " + path + ": HTTP " + std::to_string(result->status) + ": " + result->body.substr(0, 2000));
    }
    return reply["value"];
  }

  httplib::Client client_;
  std::string id_;
};

}  // namespace trashcl::testing
