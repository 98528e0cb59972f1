// The trading screen's live parts: the quote board, the 10-level order book, trades and a candle
// chart (TradingView's lightweight-charts, bundled), fed by the quotes WebSocket (/ws/quotes).
// The ticket, open orders and the balance are server-rendered forms swapped by htmx; this module
// only tells them when to reload (after a trade) and fills the ticket's price from the book.
//
// The feed's contract: every message carries its instrument's sequence number, one more than the
// last. A gap means an update was lost: the client asks for a fresh snapshot (`resync`) and
// ignores updates until it arrives. A closed connection (the server restarting, or closing a
// client too slow to keep up) is reopened after a growing, jittered delay.
import { CandlestickSeries, HistogramSeries, createChart } from "lightweight-charts";
import { validate } from "./forms.js";
import { message } from "./messages.js";

const BOOK_LEVELS = 10;
const TRADES_SHOWN_MAX = 20; // as tall as the book beside it
const RECONNECT_DELAY_MS_MIN = 500;
const RECONNECT_DELAY_MS_MAX = 15_000;
const ACCOUNT_REFRESH_DELAY_MS = 300;
const SEOUL_OFFSET_S = 9 * 3600; // the chart's axis shows UTC; the market's day is Seoul's
const ACCOUNT_EVENT = "trading:account";

const numbers = new Intl.NumberFormat("ko-KR");
const percents = new Intl.NumberFormat("ko-KR", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function formatNumber(value) {
  return value === null || value === undefined ? "" : numbers.format(value);
}

// A change with its sign and an arrow, so that colour (red up, blue down) is never the only cue.
function formatChange(change, base, withPercent = true) {
  const arrow = change > 0 ? "\u25b2" : change < 0 ? "\u25bc" : "";
  const sign = change > 0 ? "+" : "";
  const percent = withPercent && base > 0 ? ` (${sign}${percents.format((change * 100) / base)}%)` : "";
  return `${arrow}${sign}${numbers.format(change)}${percent}`;
}

function trendClass(element, change) {
  element.classList.toggle("trend--up", change > 0);
  element.classList.toggle("trend--down", change < 0);
}

function seoulSeconds(isoTime) {
  return Math.floor(Date.parse(isoTime) / 1000) + SEOUL_OFFSET_S;
}

function timeOfDay(isoTime) {
  return new Date(Date.parse(isoTime) + SEOUL_OFFSET_S * 1000).toISOString().slice(11, 19);
}

// --- the instrument in view: book, trades, chart, quote --------------------------------------

class InstrumentView {
  constructor(root, code, basePrice) {
    this.root = root;
    this.code = code;
    this.basePrice = basePrice;
    this.book = root.querySelector("[data-order-book]");
    this.trades = root.querySelector("[data-trades]");
    this.chart = null;
    this.candles = null;
    this.volumes = null;
    const container = root.querySelector("[data-candle-chart]");
    if (container) this.makeChart(container);
  }

  makeChart(container) {
    this.chart = createChart(container, {
      autoSize: true,
      // The logo would inject a <style> element, which the page's policy forbids: the page credits
      // TradingView in its own words under the chart instead (the library's licence asks for it).
      layout: {
        background: { color: "#ffffff" },
        textColor: "#374151",
        fontFamily: "inherit",
        attributionLogo: false,
      },
      grid: { vertLines: { color: "#eef0f4" }, horzLines: { color: "#eef0f4" } },
      timeScale: { timeVisible: true, secondsVisible: false },
      localization: { priceFormatter: (price) => numbers.format(Math.round(price)) },
    });
    // Korean convention: a rising candle is red, a falling one blue.
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: "#c81e1e",
      borderUpColor: "#c81e1e",
      wickUpColor: "#c81e1e",
      downColor: "#1d4ed8",
      borderDownColor: "#1d4ed8",
      wickDownColor: "#1d4ed8",
      priceFormat: { type: "price", precision: 0, minMove: 1 },
    });
    this.volumes = this.chart.addSeries(HistogramSeries, {
      priceScaleId: "volume",
      color: "#9ca3af",
      priceFormat: { type: "volume" },
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  }

  snapshot(data) {
    this.depth(data.depth);
    this.quote(data.last, data.phase);
    this.trades.replaceChildren();
    for (const trade of [...(data.trades || [])].reverse()) this.trade(trade);
    const candles = (data.candles && data.candles["1m"]) || [];
    if (this.candles) {
      this.candles.setData(candles.map((candle) => this.bar(candle)));
      this.volumes.setData(candles.map((candle) => this.volumeBar(candle)));
      this.chart.timeScale().fitContent();
    }
  }

  bar(candle) {
    return {
      time: seoulSeconds(candle.time),
      open: candle.open,
      high: candle.high,
      low: candle.low,
      close: candle.close,
    };
  }

  volumeBar(candle) {
    return { time: seoulSeconds(candle.time), value: candle.volume };
  }

  candle(candle) {
    if (!this.candles) return;
    this.candles.update(this.bar(candle));
    this.volumes.update(this.volumeBar(candle));
  }

  depth(depth) {
    this.fill("ask", depth.asks || []);
    this.fill("bid", depth.bids || []);
  }

  fill(side, levels) {
    for (let level = 0; level < BOOK_LEVELS; level += 1) {
      const row = this.book.querySelector(`[data-book-side="${side}"][data-level="${level}"]`);
      const entry = levels[level];
      const button = row.querySelector("[data-book-price]");
      const quantity = row.querySelector("[data-quantity]");
      if (entry) {
        const [price, size] = entry;
        row.dataset.price = String(price);
        button.textContent = formatNumber(price);
        button.disabled = false;
        quantity.textContent = formatNumber(size);
        trendClass(button, price - this.basePrice);
      } else {
        delete row.dataset.price;
        button.textContent = "";
        button.disabled = true;
        quantity.textContent = "";
      }
    }
  }

  trade(trade) {
    const row = document.createElement("tr");
    row.dataset.aggressor = trade.aggressor;
    for (const text of [timeOfDay(trade.time), formatNumber(trade.price), formatNumber(trade.quantity)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    trendClass(row.children[1], trade.price - this.basePrice);
    this.trades.prepend(row);
    while (this.trades.children.length > TRADES_SHOWN_MAX) this.trades.lastElementChild.remove();
    this.quote(trade, null);
  }

  quote(last, phase) {
    const lastElement = this.root.querySelector('[data-quote="last"]');
    const changeElement = this.root.querySelector('[data-quote="change"]');
    if (last) {
      const change = last.price - this.basePrice;
      lastElement.textContent = formatNumber(last.price);
      changeElement.textContent = formatChange(change, this.basePrice);
      trendClass(lastElement, change);
      trendClass(changeElement, change);
    }
    if (phase) {
      this.root.querySelector('[data-quote="phase"]').textContent = message(`trading_phase_${phase}`);
    }
  }
}

// --- the quote board ----------------------------------------------------------------------------

class Board {
  constructor(root) {
    this.rows = new Map();
    this.volumes = new Map();
    for (const row of root.querySelectorAll("[data-board-row]")) {
      this.rows.set(row.dataset.boardRow, row);
    }
  }

  snapshot(code, data) {
    const candles = (data.candles && data.candles["1m"]) || [];
    this.volumes.set(code, candles.reduce((total, candle) => total + candle.volume, 0));
    this.show(code, data.last);
  }

  trade(code, trade) {
    this.volumes.set(code, (this.volumes.get(code) || 0) + trade.quantity);
    this.show(code, trade);
  }

  show(code, last) {
    const row = this.rows.get(code);
    if (!row) return;
    const base = Number(row.dataset.basePrice);
    const price = last ? last.price : base;
    const change = price - base;
    const lastCell = row.querySelector('[data-field="last"]');
    const changeCell = row.querySelector('[data-field="change"]');
    lastCell.textContent = formatNumber(price);
    changeCell.textContent = formatChange(change, base, false); // the board is narrow
    trendClass(lastCell, change);
    trendClass(changeCell, change);
    row.querySelector('[data-field="volume"]').textContent = formatNumber(this.volumes.get(code) || 0);
  }
}

// --- the feed -----------------------------------------------------------------------------------

class QuoteFeed {
  constructor(instruments, handlers, statusElement) {
    this.instruments = instruments;
    this.handlers = handlers;
    this.statusElement = statusElement;
    this.sequences = new Map(); // instrument -> last sequence applied; absent while resyncing
    this.delay = RECONNECT_DELAY_MS_MIN;
    this.socket = null;
  }

  status(key) {
    if (!this.statusElement) return;
    this.statusElement.textContent = message(key);
    this.statusElement.dataset.state = key;
  }

  connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    this.status("trading_feed_connecting");
    const socket = new WebSocket(`${scheme}://${window.location.host}/ws/quotes`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.sequences.clear();
      socket.send(JSON.stringify({ op: "subscribe", instruments: this.instruments }));
    });
    socket.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    socket.addEventListener("close", () => this.reconnectLater());
  }

  reconnectLater() {
    this.status("trading_feed_reconnecting");
    const jitter = Math.random() * this.delay * 0.3;
    window.setTimeout(() => this.connect(), this.delay + jitter);
    this.delay = Math.min(this.delay * 2, RECONNECT_DELAY_MS_MAX);
  }

  receive(data) {
    if (data.type === "error") {
      this.status("trading_feed_error");
      return;
    }
    const code = data.instrument;
    if (data.type === "snapshot") {
      this.sequences.set(code, data.sequence);
      this.delay = RECONNECT_DELAY_MS_MIN; // a snapshot proves the connection works
      this.status("trading_feed_live");
      this.handlers.snapshot(code, data);
      return;
    }
    const previous = this.sequences.get(code);
    if (previous === undefined) return; // waiting for the snapshot a resync asked for
    if (data.sequence !== previous + 1) {
      this.sequences.delete(code);
      this.status("trading_feed_resyncing");
      this.socket.send(JSON.stringify({ op: "resync", instrument: code }));
      return;
    }
    this.sequences.set(code, data.sequence);
    const handler = this.handlers[data.type];
    if (handler) handler(code, data);
  }
}

// --- the account panels: reload after trades, without disturbing someone typing -----------------

function accountRefresher(root) {
  let timer = null;
  let pending = false;
  const typing = () => {
    const panel = root.querySelector("[data-trading-account]");
    return panel !== null && panel.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
  };
  const fire = () => {
    timer = null;
    if (typing()) {
      pending = true;
      return;
    }
    pending = false;
    document.body.dispatchEvent(new CustomEvent(ACCOUNT_EVENT));
  };
  root.addEventListener("focusout", () => {
    if (pending && timer === null) timer = window.setTimeout(fire, ACCOUNT_REFRESH_DELAY_MS);
  });
  return () => {
    if (timer === null) timer = window.setTimeout(fire, ACCOUNT_REFRESH_DELAY_MS);
  };
}

// --- the ticket: price from the book, the price field off for market orders, in-page checks ------

function priceField(root) {
  return root.querySelector("[data-order-ticket] input[name=price]");
}

function syncOrderType(root) {
  const chosen = root.querySelector("[data-order-type]:checked");
  const price = priceField(root);
  if (chosen && price) price.disabled = chosen.value === "market";
}

function wireTicket(root) {
  root.addEventListener("click", (event) => {
    const button = event.target.closest("[data-book-price]");
    if (!button) return;
    const price = priceField(root);
    const row = button.closest("[data-price]");
    if (!price || !row) return;
    const limit = root.querySelector('[data-order-type][value="limit"]');
    if (limit) limit.checked = true;
    syncOrderType(root);
    price.value = row.dataset.price;
    price.focus();
  });
  root.addEventListener("change", (event) => {
    if (event.target.matches("[data-order-type]")) syncOrderType(root);
  });
  // htmx posts the forms; the courtesy check runs first, with the page's own words.
  document.body.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.detail.elt;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-validate")) return;
    const first = validate(form);
    if (first !== null) {
      event.preventDefault();
      first.focus();
    }
  });
  document.body.addEventListener("htmx:afterSwap", () => syncOrderType(root));
  syncOrderType(root);
}

function start() {
  // htmx "settles" swapped elements by copying attributes, style included; writing a style
  // attribute breaks the page's Content-Security-Policy (style-src 'self'), so style is left out.
  if (window.htmx) window.htmx.config.attributesToSettle = ["class", "width", "height"];
  const root = document.querySelector("[data-trading]");
  if (!root) return;
  const code = root.dataset.instrument;
  const view = new InstrumentView(root, code, Number(root.dataset.basePrice));
  const board = new Board(root);
  const refreshAccount = accountRefresher(root);
  wireTicket(root);
  const instruments = [...new Set([code, ...root.dataset.board.split(" ").filter(Boolean)])];
  const feed = new QuoteFeed(
    instruments,
    {
      snapshot(instrument, data) {
        board.snapshot(instrument, data);
        if (instrument === code) view.snapshot(data);
      },
      depth(instrument, data) {
        if (instrument === code) view.depth(data.depth);
      },
      trade(instrument, data) {
        board.trade(instrument, data.trade);
        if (instrument === code) view.trade(data.trade);
        refreshAccount();
      },
      candle(instrument, data) {
        if (instrument === code && data.interval === "1m") view.candle(data.candle);
      },
    },
    root.querySelector("[data-feed-status]"),
  );
  feed.connect();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
