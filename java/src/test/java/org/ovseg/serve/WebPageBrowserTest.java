package org.ovseg.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.ovseg.api.Segmenter;
import org.ovseg.cli.SegmenterService;

/**
 * The web page at {@code GET /} in a real headless Chromium (Debian's chromium and
 * chromium-driver, installed by tools/setup.sh): choose a file, type labels, submit; the overlay
 * appears at the image's size and the table lists each label with its pixel share. The browser's
 * own FormData encoder builds the multipart body, so this also checks the parser against an
 * encoder nobody here wrote. Skips, saying why, where the browser or its driver is missing.
 */
class WebPageBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");
    @TempDir
    static Path dir;
    static Segmenter segmenter;
    static SegmentServer server;
    static WebDriver browser;
    // Selenium warns that it has no DevTools bindings for this Chromium; the test uses none.
    static final java.util.logging.Logger CDP_LOG = java.util.logging.Logger.getLogger("org.openqa.selenium.devtools");

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "needs Debian's chromium and chromium-driver (" + CHROMIUM + ", " + DRIVER + "): run tools/setup.sh as root");
        CDP_LOG.setLevel(java.util.logging.Level.SEVERE);
        segmenter = Segmenter.builder().cacheDir(dir.resolve("cache")).size(64).build();
        server = SegmentServer.start(new SegmenterService(segmenter), ServeConfig.defaults().withAddress("127.0.0.1", 0).withConcurrency(1, 2));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile()); // with both paths given, Selenium Manager is never asked to download anything
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900",
                "--user-data-dir=" + dir.resolve("profile"));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) browser.quit();
        if (server != null) server.close();
        if (segmenter != null) segmenter.close();
    }

    @Test
    void uploadLabelsAndTheOverlayAppears() throws Exception {
        Path image = dir.resolve("red-blue.png");
        Files.write(image, Forms.redBluePng(96, 64));
        browser.get("http://127.0.0.1:" + server.port() + "/");
        assertEquals("ovseg", browser.getTitle());
        browser.findElement(By.id("image")).sendKeys(image.toString());
        browser.findElement(By.id("labels")).sendKeys("red, blue, green");
        browser.findElement(By.id("run")).click();
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        JavascriptExecutor js = (JavascriptExecutor) browser;
        wait.until(d -> Boolean.TRUE.equals(js.executeScript(
                "const i = document.getElementById('overlay'); return !document.getElementById('result').hidden && i.complete && i.naturalWidth > 0;")));
        assertEquals(96L, js.executeScript("return document.getElementById('overlay').naturalWidth;"));
        assertEquals(64L, js.executeScript("return document.getElementById('overlay').naturalHeight;"));
        assertTrue(browser.findElement(By.id("overlay")).getAttribute("src").startsWith("data:image/png;base64,"));
        assertEquals("red-blue.png: 96x64, maskclip on onnxruntime-cpu", browser.findElement(By.id("status")).getText());
        List<WebElement> rows = browser.findElements(By.cssSelector("#table tbody tr"));
        assertEquals(3, rows.size());
        double[] expected = {50, 50, 0};
        String[] names = {"red", "blue", "green"};
        for (int i = 0; i < 3; i++) {
            List<WebElement> cells = rows.get(i).findElements(By.tagName("td"));
            assertEquals(names[i], cells.get(0).getText());
            assertEquals("thing", cells.get(1).getText());
            double percent = Double.parseDouble(cells.get(2).getText().replace(" %", ""));
            assertEquals(expected[i], percent, 5, names[i] + " " + cells.get(2).getText());
        }

        // A bad request shows the server's one-line error on the page.
        browser.findElement(By.id("labels")).clear();
        browser.findElement(By.id("labels")).sendKeys("red, Red");
        browser.findElement(By.id("run")).click();
        wait.until(d -> d.findElement(By.id("status")).getText().startsWith("error"));
        assertEquals("error 400: duplicate label 'Red' (labels 1 and 2 are the same word)", browser.findElement(By.id("status")).getText());
    }
}
