// The web page end to end in headless Chromium, driven through chromedriver: choose a photo, see its class and
// bin, and keep a screenshot (build/tests/artifacts/serve_page.png) for a person to look at.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "child_process.h"
#include "data/encode.h"
#include "serve_testing.h"
#include "webdriver.h"

namespace trashcl {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;

constexpr const char* kChromium = "/usr/bin/chromium";
constexpr const char* kChromedriver = "/usr/bin/chromedriver";

// chromedriver with --port=0 picks a free port and says which on stdout.
int chromedriver_port(ChildProcess& driver) {
  const std::string marker = "started successfully on port ";
  while (auto line = driver.read_line(60s)) {
    const auto at = line->find(marker);
    if (at != std::string::npos) return std::stoi(line->substr(at + marker.size()));
  }
  return -1;
}

nlohmann::json headless_chromium(const std::filesystem::path& profile) {
  // A phone-sized window, so the screenshot shows the layout people get on their phones.
  const nlohmann::json args{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=412,915", "--user-data-dir=" + profile.string()};
  return {{"alwaysMatch", {{"browserName", "chrome"}, {"goog:chromeOptions", {{"binary", kChromium}, {"args", args}}}}}};
}

TEST(ServeBrowser, PageClassifiesAChosenPhotoInHeadlessChromium) {
  for (const char* program : {kChromium, kChromedriver}) {
    ASSERT_TRUE(std::filesystem::exists(program))
        << program << " is missing: the browser test needs Debian's chromium and chromium-driver; run scripts/setup.sh";
  }
  testing::RunningServer server(testing::tiny_serve_options(true));
  testing::TempDir dir("trashcl-browser");
  const std::filesystem::path photo = std::filesystem::absolute(dir / "photo.jpg");
  write_jpeg(photo, synth_image(0, 320, 240, 42), 92);

  ChildProcess driver({kChromedriver, "--port=0"}, ChildProcess::Output::pipe);
  const int port = chromedriver_port(driver);
  ASSERT_GT(port, 0) << "chromedriver did not say which port it listens on";
  testing::WebDriverSession browser(port, headless_chromium(dir / "profile"));
  browser.navigate(server.url() + "/");
  browser.send_keys(browser.find("#file"), photo.string());

  const std::string shown = browser.wait_for_text("#result-class", 60s);
  const auto& classes = testing::tiny_classes();
  EXPECT_NE(std::find(classes.begin(), classes.end(), shown), classes.end())
      << "#result-class shows '" << shown << "'; error line: " << browser.text(browser.find("#error"));
  const nlohmann::json bin = browser.attribute(browser.find("#result-bin"), "data-bin");
  EXPECT_TRUE(bin == "recyclable" || bin == "kitchen" || bin == "hazardous" || bin == "other") << bin;
  EXPECT_GE(browser.count("#bars li"), 1u);
  EXPECT_GE(browser.count("#similar img"), 1u) << "the gallery is loaded, so similar photos should show";

  // The thumbnails load after the answer is shown; the screenshot should have them.
  for (int attempt = 0; attempt < 50 && browser.execute("return Array.from(document.images).every(i => i.complete);") != true; ++attempt) {
    std::this_thread::sleep_for(100ms);
  }
  const std::string png = browser.screenshot();
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const std::filesystem::path artefacts = std::filesystem::path(TRASHCL_BINARY).parent_path() / "tests" / "artifacts";
  testing::write_bytes(artefacts / "serve_page.png", png);
  browser.execute("document.getElementById('similar-section').scrollIntoView();");
  testing::write_bytes(artefacts / "serve_page_similar.png", browser.screenshot());
  std::cout << "screenshots: " << (artefacts / "serve_page*.png").string() << '\n';
}

}  // namespace
}  // namespace trashcl
