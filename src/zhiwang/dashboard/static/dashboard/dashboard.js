// The dashboard's charts: the 12-month trend and the handling rate of each area below the node.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var labels = data.labels;
  var charts = [];

  function percentAxis() {
    return { type: "value", name: labels.rate, min: 0, max: 100, axisLabel: { formatter: "{value}%" } };
  }

  function drawTrend(element) {
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 56, top: 40, bottom: 28 },
      xAxis: { type: "category", data: data.trend.months },
      yAxis: [{ type: "value", name: labels.cases, minInterval: 1 }, percentAxis()],
      series: [
        { name: labels.reported, type: "bar", data: data.trend.reported, itemStyle: { color: "#5b8ff9" } },
        { name: labels.handled, type: "bar", data: data.trend.handled, itemStyle: { color: "#5ad8a6" } },
        { name: labels.handlingRate, type: "line", yAxisIndex: 1, data: data.trend.handlingRate,
          connectNulls: true, itemStyle: { color: "#c8102e" } },
        { name: labels.onTimeRate, type: "line", yAxisIndex: 1, data: data.trend.onTimeRate,
          connectNulls: true, itemStyle: { color: "#d9822b" } }
      ]
    });
    charts.push(chart);
  }

  function drawChildren(element) {
    var count = data.children.names.length;
    element.style.height = Math.max(220, 60 + count * 26) + "px";
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 40, top: 32, bottom: 8, containLabel: true },
      xAxis: percentAxis(),
      yAxis: { type: "category", inverse: true, data: data.children.names },
      series: [
        { name: labels.handlingRate, type: "bar", data: data.children.handlingRate, itemStyle: { color: "#c8102e" } },
        { name: labels.onTimeRate, type: "bar", data: data.children.onTimeRate, itemStyle: { color: "#d9822b" } }
      ]
    });
    charts.push(chart);
  }

  var trend = document.getElementById("trend-chart");
  if (trend) { drawTrend(trend); }
  var children = document.getElementById("children-chart");
  if (children && data.children.names.length) { drawChildren(children); }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.body.dataset.chartsReady = String(charts.length);
})();
