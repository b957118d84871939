using System.Globalization;
using System.Net;
using System.Text;

namespace Edge.Quantizer.Report;

/// <summary>Small inline-SVG plots for the HTML report: no scripts, no external resources.</summary>
internal static class Svg
{
    public const string Blue = "#2563eb";
    public const string Orange = "#ea580c";
    public const string Ink = "#1f2937";
    public const string Grid = "#e5e7eb";
    public const string Muted = "#6b7280";

    private sealed record Frame(double Width, double Height, double Left, double Right, double Top, double Bottom, double X0, double X1, double Y0, double Y1)
    {
        public double X(double v) => Left + (v - X0) / (X1 - X0) * (Width - Left - Right);
        public double Y(double v) => Height - Bottom - (v - Y0) / (Y1 - Y0) * (Height - Top - Bottom);
    }

    public static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    public static string Label(double v)
    {
        double a = Math.Abs(v);
        if (a == 0) return "0";
        if (a >= 1e5 || a < 1e-3) return v.ToString("0.#e+0", CultureInfo.InvariantCulture);
        return v.ToString(a >= 100 ? "0" : a >= 1 ? "0.##" : "0.####", CultureInfo.InvariantCulture);
    }

    public static string Esc(string s) => WebUtility.HtmlEncode(s);

    /// <summary>Round tick values covering [min, max] (1, 2, 5 x 10^k steps).</summary>
    public static double[] Ticks(double min, double max, int count = 5)
    {
        if (!(max > min)) { max = min + 1; min -= 1; }
        double raw = (max - min) / count;
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1, 2, 2.5, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        double first = Math.Ceiling(min / step - 1e-9) * step;
        var ticks = new List<double>();
        for (double t = first; t <= max + step * 1e-9; t += step) ticks.Add(Math.Abs(t) < step * 1e-9 ? 0 : t);
        return ticks.ToArray();
    }

    private static (double Lo, double Hi) Range(IEnumerable<double> values, double pad = 0.05)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values) if (double.IsFinite(v)) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (double.IsInfinity(lo)) return (0, 1);
        if (hi == lo) { double d = lo == 0 ? 1 : Math.Abs(lo) * 0.1; return (lo - d, hi + d); }
        double p = (hi - lo) * pad;
        return (lo - p, hi + p);
    }

    private static void Axes(StringBuilder s, Frame f, string xLabel, string yLabel, bool xTicks = true)
    {
        foreach (var t in Ticks(f.Y0, f.Y1))
        {
            if (t < f.Y0 || t > f.Y1) continue;
            s.Append($"<line x1=\"{F(f.Left)}\" x2=\"{F(f.Width - f.Right)}\" y1=\"{F(f.Y(t))}\" y2=\"{F(f.Y(t))}\" stroke=\"{Grid}\"/>");
            s.Append($"<text x=\"{F(f.Left - 6)}\" y=\"{F(f.Y(t) + 4)}\" text-anchor=\"end\" class=\"tick\">{Label(t)}</text>");
        }
        if (xTicks)
            foreach (var t in Ticks(f.X0, f.X1))
            {
                if (t < f.X0 || t > f.X1) continue;
                s.Append($"<line x1=\"{F(f.X(t))}\" x2=\"{F(f.X(t))}\" y1=\"{F(f.Height - f.Bottom)}\" y2=\"{F(f.Height - f.Bottom + 4)}\" stroke=\"{Muted}\"/>");
                s.Append($"<text x=\"{F(f.X(t))}\" y=\"{F(f.Height - f.Bottom + 17)}\" text-anchor=\"middle\" class=\"tick\">{Label(t)}</text>");
            }
        s.Append($"<line x1=\"{F(f.Left)}\" x2=\"{F(f.Width - f.Right)}\" y1=\"{F(f.Height - f.Bottom)}\" y2=\"{F(f.Height - f.Bottom)}\" stroke=\"{Muted}\"/>");
        s.Append($"<line x1=\"{F(f.Left)}\" x2=\"{F(f.Left)}\" y1=\"{F(f.Top)}\" y2=\"{F(f.Height - f.Bottom)}\" stroke=\"{Muted}\"/>");
        s.Append($"<text x=\"{F((f.Left + f.Width - f.Right) / 2)}\" y=\"{F(f.Height - 6)}\" text-anchor=\"middle\" class=\"axis\">{Esc(xLabel)}</text>");
        s.Append($"<text transform=\"translate(14 {F((f.Top + f.Height - f.Bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\" class=\"axis\">{Esc(yLabel)}</text>");
    }

    private static StringBuilder Open(double w, double h, string title)
    {
        var s = new StringBuilder();
        s.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {F(w)} {F(h)}\" width=\"{F(w)}\" height=\"{F(h)}\" role=\"img\"><title>{Esc(title)}</title>");
        return s;
    }

    /// <summary>int8 against fp32, one dot per sampled element, and the line y = x they should sit on.</summary>
    public static string Scatter(string title, float[] x, float[] y, double width = 500, double height = 340)
    {
        var (lo, hi) = Range(x.Select(v => (double)v).Concat(y.Select(v => (double)v)));
        var f = new Frame(width, height, 62, 14, 12, 42, lo, hi, lo, hi);
        var s = Open(width, height, title);
        Axes(s, f, "fp32", "int8");
        s.Append($"<line x1=\"{F(f.X(lo))}\" y1=\"{F(f.Y(lo))}\" x2=\"{F(f.X(hi))}\" y2=\"{F(f.Y(hi))}\" stroke=\"{Muted}\" stroke-dasharray=\"4 4\"/>");
        s.Append($"<g fill=\"{Blue}\" fill-opacity=\"0.45\">");
        for (int i = 0; i < x.Length; i++) s.Append($"<circle cx=\"{F(f.X(x[i]))}\" cy=\"{F(f.Y(y[i]))}\" r=\"2\"/>");
        s.Append("</g></svg>");
        return s.ToString();
    }

    /// <summary>Counts of int8 - fp32 in equal bins over [-range, range].</summary>
    public static string Histogram(string title, int[] bins, double range, double width = 500, double height = 340)
    {
        int max = Math.Max(1, bins.DefaultIfEmpty(0).Max());
        var f = new Frame(width, height, 62, 14, 12, 42, -range, range, 0, max * 1.08);
        var s = Open(width, height, title);
        Axes(s, f, "int8 − fp32", "elements");
        double bw = 2 * range / Math.Max(1, bins.Length);
        s.Append($"<g fill=\"{Orange}\" fill-opacity=\"0.8\">");
        for (int i = 0; i < bins.Length; i++)
        {
            if (bins[i] == 0) continue;
            double x0 = f.X(-range + i * bw), x1 = f.X(-range + (i + 1) * bw);
            s.Append($"<rect x=\"{F(x0 + 0.5)}\" y=\"{F(f.Y(bins[i]))}\" width=\"{F(Math.Max(0.5, x1 - x0 - 1))}\" height=\"{F(f.Y(0) - f.Y(bins[i]))}\"><title>{bins[i]}</title></rect>");
        }
        s.Append("</g></svg>");
        return s.ToString();
    }

    /// <summary>Horizontal bars, one per weight; infinite values (an exact copy) drawn full width and labelled "exact".</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double Value)> rows, string unit, double good, double fair, double width = 1000)
    {
        const double rowH = 24, labelW = 330, top = 8, bottom = 34, right = 70;
        double height = top + bottom + rowH * Math.Max(1, rows.Count);
        double max = Math.Max(good * 1.5, rows.Select(r => r.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max() * 1.08);
        var f = new Frame(width, height, labelW, right, top, bottom, 0, max, 0, 1);
        var s = Open(width, height, title);
        foreach (var t in Ticks(0, max, 6))
        {
            if (t > max) continue;
            s.Append($"<line x1=\"{F(f.X(t))}\" x2=\"{F(f.X(t))}\" y1=\"{F(top)}\" y2=\"{F(height - bottom)}\" stroke=\"{Grid}\"/>");
            s.Append($"<text x=\"{F(f.X(t))}\" y=\"{F(height - bottom + 16)}\" text-anchor=\"middle\" class=\"tick\">{Label(t)}</text>");
        }
        s.Append($"<text x=\"{F((labelW + width - right) / 2)}\" y=\"{F(height - 4)}\" text-anchor=\"middle\" class=\"axis\">{Esc(unit)}</text>");
        for (int i = 0; i < rows.Count; i++)
        {
            var (label, value) = rows[i];
            double y = top + i * rowH;
            bool exact = double.IsPositiveInfinity(value);
            double v = exact ? max : Math.Max(0, value);
            string color = exact || value >= good ? "#16a34a" : value >= fair ? "#d97706" : "#dc2626";
            string shown = label.Length > 46 ? "…" + label[^45..] : label;
            s.Append($"<text x=\"{F(labelW - 8)}\" y=\"{F(y + rowH / 2 + 4)}\" text-anchor=\"end\" class=\"label\">{Esc(shown)}<title>{Esc(label)}</title></text>");
            s.Append($"<rect x=\"{F(labelW)}\" y=\"{F(y + 4)}\" width=\"{F(f.X(v) - labelW)}\" height=\"{F(rowH - 8)}\" rx=\"2\" fill=\"{color}\"/>");
            s.Append($"<text x=\"{F(f.X(v) + 5)}\" y=\"{F(y + rowH / 2 + 4)}\" class=\"value\">{(exact ? "exact" : value.ToString("F1", CultureInfo.InvariantCulture))}</text>");
        }
        s.Append("</svg>");
        return s.ToString();
    }

    /// <summary>Series over a shared x (window index): the actual values and the two forecasts.</summary>
    public static string Lines(string title, string yLabel, IReadOnlyList<(string Name, string Color, string Dash, double[] Values)> series, double width = 500, double height = 240)
    {
        int n = series.Count == 0 ? 0 : series.Max(x => x.Values.Length);
        var (lo, hi) = Range(series.SelectMany(x => x.Values));
        var f = new Frame(width, height, 62, 14, 28, 42, 0, Math.Max(1, n - 1), lo, hi);
        var s = Open(width, height, title);
        Axes(s, f, "held-out window", yLabel);
        double lx = f.Left + 4;
        foreach (var (name, color, dash, values) in series)
        {
            var pts = new StringBuilder();
            for (int i = 0; i < values.Length; i++) pts.Append(F(f.X(i))).Append(',').Append(F(f.Y(values[i]))).Append(' ');
            s.Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\" stroke-dasharray=\"{dash}\" points=\"{pts.ToString().TrimEnd()}\"/>");
            s.Append($"<line x1=\"{F(lx)}\" x2=\"{F(lx + 18)}\" y1=\"14\" y2=\"14\" stroke=\"{color}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>");
            s.Append($"<text x=\"{F(lx + 22)}\" y=\"18\" class=\"label\">{Esc(name)}</text>");
            lx += 30 + name.Length * 6.5;
        }
        s.Append("</svg>");
        return s.ToString();
    }
}
