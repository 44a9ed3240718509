//! Driving the web view: `data-testid` locators, clicks that scroll first, waits that
//! poll the DOM (never fixed sleeps), text entry with a check, and screenshots.

use crate::Result;
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// CSS for `[data-testid="id"]`.
pub fn tid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// The session plus where screenshots go.
pub struct Ui {
    /// The WebDriver session.
    pub client: Client,
    shots: PathBuf,
    taken: Vec<PathBuf>,
    notes: Vec<String>,
    /// How long a wait may take before it fails.
    pub timeout: Duration,
}

const POLL: Duration = Duration::from_millis(50);

/// Not found yet, or found while it was being replaced.
fn retryable(e: &CmdError) -> bool {
    match e {
        CmdError::Standard(w) => {
            matches!(
                w.error,
                ErrorStatus::NoSuchElement | ErrorStatus::StaleElementReference
            ) || w.message.to_lowercase().contains("stale")
        }
        other => other.to_string().to_lowercase().contains("stale"),
    }
}

impl Ui {
    /// Wraps a session; screenshots go to `shots` (created).
    pub fn new(client: Client, shots: &Path) -> Result<Ui> {
        std::fs::create_dir_all(shots)?;
        Ok(Ui {
            client,
            shots: shots.to_path_buf(),
            taken: Vec::new(),
            notes: Vec::new(),
            timeout: Duration::from_secs(30),
        })
    }

    /// Screenshots saved so far, in order.
    pub fn screenshots(&self) -> &[PathBuf] {
        &self.taken
    }

    /// Things worth reporting that did not fail the run (workarounds used).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Adds a note for the report.
    pub fn note(&mut self, n: impl Into<String>) {
        let n = n.into();
        eprintln!("e2e: note: {n}");
        self.notes.push(n);
    }

    /// Waits (polling) for an element matching `css`. A screen re-rendering under the
    /// lookup (WebKit: "Stale element found when trying to create the node handle")
    /// counts as not found yet.
    pub async fn find(&self, css: &str) -> Result<Element> {
        let start = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => return Ok(el),
                Err(e) if retryable(&e) && start.elapsed() < self.timeout => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(format!("waiting for {css}: {e}").into()),
            }
        }
    }

    /// Waits for `[data-testid=id]`.
    pub async fn find_tid(&self, id: &str) -> Result<Element> {
        self.find(&tid(id)).await
    }

    /// Every element matching `css` now (no wait).
    pub async fn all(&self, css: &str) -> Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(css)).await?)
    }

    /// True when an element matches `css` now.
    pub async fn exists(&self, css: &str) -> Result<bool> {
        Ok(!self.all(css).await?.is_empty())
    }

    /// Runs a script (`arguments[0..]` = `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client
            .execute(script, args)
            .await
            .map_err(|e| format!("script failed: {e}\n{script}").into())
    }

    /// Polls `script` (an expression body returning a boolean, `arguments` available)
    /// until it returns `true`; `what` names the condition in the error. Returns how
    /// long it took.
    pub async fn wait_until(&self, what: &str, script: &str, args: Vec<Value>) -> Result<Duration> {
        self.wait_until_for(what, script, args, self.timeout).await
    }

    /// [`Ui::wait_until`] with its own timeout.
    pub async fn wait_until_for(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Duration> {
        let start = Instant::now();
        let mut last = Value::Null;
        while start.elapsed() < timeout {
            last = self.js(script, args.clone()).await?;
            if last == Value::Bool(true) {
                return Ok(start.elapsed());
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("timed out after {timeout:?} waiting until {what} (last value {last})").into())
    }

    /// Scrolls `el` to the middle of the viewport (clear of the fixed bars) and clicks it.
    pub async fn click_el(&self, el: &Element) -> Result<()> {
        self.scroll_to(el).await?;
        el.click().await.map_err(|e| format!("click: {e}"))?;
        Ok(())
    }

    /// Scrolls `el` to the middle of the viewport.
    pub async fn scroll_to(&self, el: &Element) -> Result<(), CmdError> {
        let el = serde_json::to_value(el).map_err(CmdError::Json)?;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'}); return true;",
                vec![el],
            )
            .await?;
        Ok(())
    }

    /// Scrolls the page so `css` starts `offset` CSS px below the top of the viewport
    /// (clear of the sticky top bar), for screenshots of a lower part of a screen.
    pub async fn scroll_page_to(&self, css: &str, offset: f64) -> Result<()> {
        self.find(css).await?;
        self.js(
            "const el = document.querySelector(arguments[0]);\
             window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - arguments[1]); return true;",
            vec![Value::from(css), Value::from(offset)],
        )
        .await?;
        Ok(())
    }

    /// Waits for `css`, then clicks it (looked up again if it was re-rendered between
    /// the lookup and the click).
    pub async fn click(&self, css: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let el = self.find(css).await?;
            let r = async {
                self.scroll_to(&el).await?;
                el.click().await?;
                Ok::<(), CmdError>(())
            }
            .await;
            match r {
                Ok(()) => return Ok(()),
                Err(e) if retryable(&e) && start.elapsed() < self.timeout => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(format!("clicking {css}: {e}").into()),
            }
        }
    }

    /// Waits for `[data-testid=id]`, then clicks it.
    pub async fn click_tid(&self, id: &str) -> Result<()> {
        self.click(&tid(id)).await
    }

    /// Waits until the button `[data-testid=id]` is enabled (a click on a disabled
    /// button does nothing), then clicks it.
    pub async fn click_enabled(&self, id: &str) -> Result<()> {
        self.wait_until(
            &format!("{id} is enabled"),
            "const b = document.querySelector(`[data-testid=\"${arguments[0]}\"]`); return !!b && !b.disabled;",
            vec![Value::from(id)],
        )
        .await?;
        self.click_tid(id).await
    }

    /// The visible text of the first match of `css` (waits for it).
    pub async fn text(&self, css: &str) -> Result<String> {
        let start = Instant::now();
        loop {
            match self.find(css).await?.text().await {
                Ok(t) => return Ok(t),
                Err(e) if retryable(&e) && start.elapsed() < self.timeout => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(format!("text of {css}: {e}").into()),
            }
        }
    }

    /// Types `text` into the input/textarea matching `css` with WebDriver key events,
    /// then checks its value. If WebKitWebDriver dropped characters (it cannot type
    /// every CJK character as key events), sets the value the way an input method
    /// commits text (value + `input` event) and notes it.
    pub async fn type_text(&mut self, css: &str, text: &str) -> Result<()> {
        let el = self.find(css).await?;
        self.scroll_to(&el).await?;
        el.clear()
            .await
            .map_err(|e| format!("clearing {css}: {e}"))?;
        el.send_keys(text)
            .await
            .map_err(|e| format!("typing into {css}: {e}"))?;
        let value = el.prop("value").await?.unwrap_or_default();
        if value != text {
            self.note(format!(
                "WebDriver typing into {css} gave {value:?} instead of {text:?}: value set with an input event"
            ));
            self.js(
                "const el = arguments[0]; const proto = Object.getPrototypeOf(el);\
                 Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, arguments[1]);\
                 el.dispatchEvent(new Event('input', {bubbles: true}));\
                 el.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                vec![serde_json::to_value(&el)?, Value::from(text)],
            )
            .await?;
            let value = el.prop("value").await?.unwrap_or_default();
            if value != text {
                return Err(format!("{css} holds {value:?}, not {text:?}").into());
            }
        }
        Ok(())
    }

    /// Calls a Tauri command from the page (for checks only: the flow itself goes
    /// through the UI). `Ok(result)`, or `Err` with the command's `{code, message}`.
    pub async fn invoke(&self, cmd: &str, args: Value) -> Result<Result<Value, Value>> {
        let v = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])\
                   .then((ok) => done({ ok }), (err) => done({ err: err ?? null }));",
                vec![Value::from(cmd), args],
            )
            .await
            .map_err(|e| format!("invoke {cmd}: {e}"))?;
        Ok(match v.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(v.get("err").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Waits until images have loaded and two animation frames have passed, so a
    /// screenshot shows what the DOM holds.
    pub async fn settle(&self) -> Result<()> {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 const pending = [...document.images].filter((i) => !i.complete)\
                   .map((i) => new Promise((r) => { i.addEventListener('load', r); i.addEventListener('error', r); }));\
                 Promise.all(pending).then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
                vec![],
            )
            .await?;
        Ok(())
    }

    /// Saves a PNG of the viewport as `NN-name.png`.
    pub async fn shot(&mut self, name: &str) -> Result<PathBuf> {
        self.settle().await?;
        let png = self.client.screenshot().await?;
        let path = self
            .shots
            .join(format!("{:02}-{name}.png", self.taken.len() + 1));
        std::fs::write(&path, png)?;
        eprintln!("e2e: screenshot {}", path.display());
        self.taken.push(path.clone());
        Ok(path)
    }

    /// On failure: a screenshot and the page's text and URL, for the post-mortem.
    pub async fn dump(&self, name: &str) {
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(self.shots.join(format!("{name}.png")), png);
        }
        let url = self
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let body = self
            .js(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await
            .unwrap_or_default();
        let text = format!("{url}\n\n{}", body.as_str().unwrap_or_default());
        let _ = std::fs::write(self.shots.join(format!("{name}.txt")), &text);
        eprintln!("e2e: page at failure ({url}):\n{text}");
    }
}
