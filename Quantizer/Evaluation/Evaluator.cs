using System.Text.Json.Nodes;
using Edge.Quantizer.Calibration;
using Edge.Quantizer.Quantization;
using Edge.Quantizer.Report;
using Edge.Runtime;
using Edge.Runtime.Contract;
using Edge.Runtime.Execution;
using Edge.Runtime.Ir;
using Edge.Runtime.Quantization;
using Edge.Runtime.Tensors;

namespace Edge.Quantizer.Evaluation;

/// <summary>What to evaluate: the two graphs, the data, and where they came from (for the report).</summary>
internal sealed record EvaluationInput(Graph Fp32, Graph Int8, JsonObject Metadata, ModelData Data, string Fp32Source, string Int8Source)
{
    public int BatchSize { get; init; } = 64;

    /// <summary>The quantizer's own per-weight reports; null: recomputed from the two graphs.</summary>
    public IReadOnlyList<QuantizedWeightReport>? Weights { get; init; }
}

/// <summary>
/// Runs the fp32 and the int8 graph over the same data, batch by batch, and measures how far apart
/// they are and, where the data has targets, how each does on the task (<see cref="AccuracyReport"/>).
/// </summary>
internal static class Evaluator
{
    private const int ScatterPoints = 2000;
    private const int SeriesPoints = 1500;
    private const int HistogramBins = 41;

    public static AccuracyReport Evaluate(EvaluationInput input, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var (fp32, int8, metadata, data) = (input.Fp32, input.Int8, input.Metadata, input.Data);
        foreach (var i in fp32.Inputs)
            if (!int8.Inputs.Any(j => j.Name == i.Name))
                throw new EdgeException($"the int8 model has no input '{i.Name}' (the fp32 model's); its inputs are: {string.Join(", ", int8.Inputs)}: are they the same model?");
        var outputNames = fp32.Outputs.Select(o => o.Name).Where(n => int8.Outputs.Any(o => o.Name == n)).ToList();
        if (outputNames.Count == 0)
            throw new EdgeException($"are they the same model? the fp32 and int8 models share no output name (fp32: {string.Join(", ", fp32.Outputs.Select(o => o.Name))}; int8: {string.Join(", ", int8.Outputs.Select(o => o.Name))})");

        var (a, b) = RunBoth(new Session(fp32), new Session(int8), data, outputNames, input.BatchSize, progress);
        var notes = new List<string>();
        var outputs = new List<OutputComparison>();
        foreach (var name in outputNames)
        {
            if (a[name].DataType != DataType.Float32) { notes.Add($"output '{name}' is {a[name].DataType.Name()}: not compared"); continue; }
            outputs.Add(Compare(name, a[name], b[name]));
        }

        var task = ModelTask.Detect(metadata, fp32.Inputs, fp32.Outputs);
        ForecastMetrics? forecast = null;
        ClassificationMetrics? classification = null;
        RankingMetrics? ranking = null;
        // The forecast is the output that is not a state output (metadata "state"); the first shared output otherwise.
        string forecastOutput = ModelData.ForecastOutput(fp32.Outputs, ModelContract.Parse(metadata)).Name;
        string main = task.Kind == TaskKind.Forecaster && outputNames.Contains(forecastOutput) ? forecastOutput : outputNames[0];
        switch (task.Kind)
        {
            case TaskKind.Forecaster:
                if (data.Targets is null) notes.Add("forecaster: no targets (give a recording, or --targets with ready windows), so no forecast RMSE against the real values");
                else forecast = Forecast(main, a[main], b[main], data.Targets, metadata);
                break;
            case TaskKind.Classifier:
                classification = Classify(main, a[main], b[main], data.Targets, data.TargetsFile);
                break;
            case TaskKind.DualEncoder:
                ranking = Rank(main, a[main], b[main], data.Inputs[fp32.Inputs[0].Name]);
                break;
        }

        return new AccuracyReport
        {
            ModelName = (metadata["model_name"] as JsonValue)?.GetValue<string>() ?? fp32.Name,
            Fp32Source = input.Fp32Source,
            Int8Source = input.Int8Source,
            Task = task,
            Data = data,
            BatchSize = input.BatchSize,
            Weights = input.Weights ?? WeightReports(fp32, int8),
            Outputs = outputs,
            Forecast = forecast,
            Classification = classification,
            Ranking = ranking,
            Notes = notes,
            WeightRoles = WeightRoles(int8),
        };
    }

    /// <summary>"W", "R", "M" or "table" (embedding) for every int8 weight, from the input slot its node reads it in (OpKind's input order).</summary>
    public static Dictionary<string, string> WeightRoles(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var roles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                if (!graph.QuantizedConstants.ContainsKey(node.Inputs[i]) || roles.ContainsKey(node.Inputs[i])) continue;
                roles[node.Inputs[i]] = (node.Kind, i) switch
                {
                    (OpKind.Lstm or OpKind.Gru or OpKind.Rnn, 2) => "R",
                    (OpKind.Bilinear, 2) => "M",
                    (OpKind.Embedding, 1) => "table",
                    (_, 1) => "W",
                    _ => $"input {i}",
                };
            }
        return roles;
    }

    /// <summary>Both sessions over every batch; outputs stacked back along axis 0.</summary>
    public static (Dictionary<string, Tensor> Fp32, Dictionary<string, Tensor> Int8) RunBoth(Session fp32, Session int8, ModelData data, IReadOnlyList<string> outputs, int batchSize, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        ArgumentNullException.ThrowIfNull(int8);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(outputs);
        var partsA = outputs.ToDictionary(o => o, _ => new List<Tensor>(), StringComparer.Ordinal);
        var partsB = outputs.ToDictionary(o => o, _ => new List<Tensor>(), StringComparer.Ordinal);
        var bar = new ConsoleProgress(progress, "evaluating", data.Count);
        foreach (var (start, count) in Windowing.Batches(data.Count, data.RunBatch(batchSize)))
        {
            var batch = data.Batch(start, count);
            int rows = Math.Max(count, data.FixedBatch ?? 0); // a fixed-batch graph runs a padded last batch
            var ra = fp32.Run(batch);
            var rb = int8.Run(batch);
            foreach (var o in outputs)
            {
                if (ra[o].Rank == 0 || ra[o].Dim(0) != rows || rb[o].Rank == 0 || rb[o].Dim(0) != rows)
                    throw new EdgeException($"output '{o}' {ra[o].ShapeString} has no batch axis of {rows}; evaluation batches along axis 0");
                partsA[o].Add(rows == count ? ra[o] : Windowing.Rows(ra[o], 0, count));
                partsB[o].Add(rows == count ? rb[o] : Windowing.Rows(rb[o], 0, count));
            }
            bar.Report(start + count);
        }
        bar.Done();
        return (partsA.ToDictionary(kv => kv.Key, kv => Windowing.ConcatRows(kv.Value), StringComparer.Ordinal),
                partsB.ToDictionary(kv => kv.Key, kv => Windowing.ConcatRows(kv.Value), StringComparer.Ordinal));
    }

    /// <summary>SQNR of every int8 weight of <paramref name="int8"/> against the same-named fp32 weight of <paramref name="fp32"/>.</summary>
    public static IReadOnlyList<QuantizedWeightReport> WeightReports(Graph fp32, Graph int8)
    {
        ArgumentNullException.ThrowIfNull(fp32);
        ArgumentNullException.ThrowIfNull(int8);
        var reports = new List<QuantizedWeightReport>();
        foreach (var (name, q) in int8.QuantizedConstants.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!fp32.Constants.TryGetValue(name, out var w))
                throw new EdgeException($"int8 weight '{name}' has no fp32 counterpart in the fp32 model: are they the same model?");
            if (!w.Shape.SequenceEqual(q.Values.Shape))
                throw new EdgeException($"int8 weight '{name}' {q.Values.ShapeString} does not match the fp32 model's {w.ShapeString}: are they the same model?");
            var (sqnr, maxErr) = ModelQuantizer.Compare(w, WeightQuantizer.Dequantize(q));
            var node = int8.Nodes.FirstOrDefault(n => n.Inputs.Contains(name));
            reports.Add(new QuantizedWeightReport(name, node?.Name ?? "", node?.Kind ?? OpKind.Identity, w.ShapeArray(), q.Scales.Length, sqnr, maxErr));
        }
        return reports;
    }

    internal static OutputComparison Compare(string name, Tensor fp32, Tensor int8)
    {
        if (!fp32.Shape.SequenceEqual(int8.Shape))
            throw new EdgeException($"output '{name}': fp32 gives {fp32.ShapeString}, int8 gives {int8.ShapeString}");
        var a = fp32.Contiguous().ReadOnlySpan<float>();
        var b = int8.Contiguous().ReadOnlySpan<float>();
        double maxErr = Metrics.MaxAbsError(a, b);
        double sumAbs = 0;
        for (int i = 0; i < a.Length; i++) sumAbs += Math.Abs((double)a[i] - b[i]);
        int step = Math.Max(1, (a.Length + ScatterPoints - 1) / ScatterPoints);
        var sa = new List<float>();
        var sb = new List<float>();
        for (int i = 0; i < a.Length; i += step) { sa.Add(a[i]); sb.Add(b[i]); }
        double range = maxErr > 0 ? maxErr : 1e-6;
        var hist = new int[HistogramBins];
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)b[i] - a[i];
            int bin = (int)Math.Floor((d + range) / (2 * range) * HistogramBins);
            hist[Math.Clamp(bin, 0, HistogramBins - 1)]++;
        }
        return new OutputComparison(name, fp32.ShapeArray(), a.Length, Metrics.Rmse(a, b), maxErr, a.Length == 0 ? 0 : sumAbs / a.Length, Metrics.Cosine(a, b))
        {
            SampleFp32 = sa.ToArray(),
            SampleInt8 = sb.ToArray(),
            ErrorHistogram = hist,
            HistogramRange = range,
        };
    }

    /// <summary>
    /// Forecast RMSE against the real next values. The output may be (N, F), (N, 1, F), (N, H, F) or (N, H * F):
    /// step-major values of the target features (the metadata's "targets", else every feature), compared element by
    /// element with targets of the same length. Errors are taken per feature in the recording's own units
    /// (de-normalized with the contract's float32 normalization when it has one); "overall" pools every feature and
    /// step in those units, "overall_normalized" in normalized units.
    /// </summary>
    internal static ForecastMetrics Forecast(string output, Tensor fp32, Tensor int8, Tensor targets, JsonObject metadata)
    {
        if (targets.DataType != DataType.Float32) throw new EdgeException($"forecast targets must be float32, not {targets.DataType.Name()}");
        var contract = ModelContract.Parse(metadata);
        int n = fp32.Dim(0);
        if (targets.Rank == 0 || targets.Dim(0) != n || targets.Length != fp32.Length)
            throw new EdgeException($"forecast targets {targets.ShapeString} do not match the forecast '{output}' {fp32.ShapeString}: they need the same number of values per window");
        int inputFeatures = contract.Features?.Count ?? (contract.Normalization is { Features: > 0 } cn ? cn.Features : targets.Dim(-1));
        int[] targetIndex = contract.TargetIndices(inputFeatures);
        int features = targetIndex.Length;
        if (fp32.Length / Math.Max(1, n) % features != 0)
            throw new EdgeException($"the forecast '{output}' {fp32.ShapeString} is not whole steps of the {features} target feature(s)");
        int horizon = fp32.Length / Math.Max(1, n * features);
        var norm = contract.Normalization is { Kind: not NormalizationKind.None } scaled ? scaled : null; // "none": errors in the given units
        if (norm is not null && targetIndex.Any(t => t >= norm.Features))
            throw new EdgeException($"the metadata's normalization has {norm.Features} features, the forecast '{output}' has {features}");
        var t = targets.Contiguous().ReadOnlySpan<float>();
        var a = fp32.Contiguous().ReadOnlySpan<float>();
        var b = int8.Contiguous().ReadOnlySpan<float>();
        var seA = new double[features];
        var seB = new double[features];
        double nseA = 0, nseB = 0;
        var series = Enumerable.Range(0, features).Select(_ => (new List<double>(), new List<double>(), new List<double>())).ToArray();
        int stride = Math.Max(1, (n + SeriesPoints - 1) / SeriesPoints);
        for (int i = 0; i < t.Length; i++)
        {
            int f = i % features;
            double real = t[i], fa = a[i], fb = b[i];
            nseA += (fa - real) * (fa - real);
            nseB += (fb - real) * (fb - real);
            if (norm is not null)
            {
                int raw = targetIndex[f];
                real = norm.Denormalize(raw, t[i]);
                fa = norm.Denormalize(raw, a[i]);
                fb = norm.Denormalize(raw, b[i]);
            }
            seA[f] += (fa - real) * (fa - real);
            seB[f] += (fb - real) * (fb - real);
            int window = i / (features * horizon), step = i / features % horizon;
            if (step == 0 && window % stride == 0) { series[f].Item1.Add(real); series[f].Item2.Add(fa); series[f].Item3.Add(fb); }
        }
        int perFeature = n * horizon;
        var perF = Enumerable.Range(0, features).Select(f =>
        {
            var feature = contract.Features is { } fs && targetIndex[f] < fs.Count ? fs[targetIndex[f]] : null;
            return new ForecastError(feature?.Name ?? $"feature {targetIndex[f]}", feature?.Unit ?? "", Math.Sqrt(seA[f] / perFeature), Math.Sqrt(seB[f] / perFeature));
        }).ToList();
        string units = norm is null ? "as given (no normalization in the metadata)" : "original (de-normalized)";
        var overall = new ForecastError("overall", norm is null ? "" : "mixed", Math.Sqrt(seA.Sum() / t.Length), Math.Sqrt(seB.Sum() / t.Length));
        var overallN = new ForecastError("overall (normalized)", "", Math.Sqrt(nseA / t.Length), Math.Sqrt(nseB / t.Length));
        return new ForecastMetrics(output, n, horizon, units, norm is null ? null : norm.Kind.ToString().ToLowerInvariant(), overall, overallN, perF)
        {
            Series = series.Select(s => (s.Item1.ToArray(), s.Item2.ToArray(), s.Item3.ToArray())).ToList(),
        };
    }

    /// <summary>
    /// Sequence cross-entropy over (N, C, D): logits (N, D, C) or (N, C), log-softmax over C, against
    /// the targets (N, D) / (N,) when given, else against fp32's arg max; and top-1 agreement.
    /// </summary>
    internal static ClassificationMetrics Classify(string output, Tensor fp32, Tensor int8, Tensor? targets, string? targetsFile)
    {
        int classes = fp32.Dim(-1);
        var a = fp32.Contiguous().ReadOnlySpan<float>();
        var b = int8.Contiguous().ReadOnlySpan<float>();
        long positions = a.Length / classes;
        var argA = Metrics.ArgMax(a, classes);
        var argB = Metrics.ArgMax(b, classes);
        long[] reference = argA;
        double? accA = null, accB = null;
        string source = "fp32 arg max";
        if (targets is not null)
        {
            if (targets.DataType is not (DataType.Int64 or DataType.Int32 or DataType.Int8))
                throw new EdgeException($"--targets: class ids must be integers, not {targets.DataType.Name()}");
            if (!targets.Shape.SequenceEqual(fp32.Shape[..^1]))
                throw new EdgeException($"--targets {targets.ShapeString} does not match the logits '{output}' {fp32.ShapeString} without their class axis");
            reference = targets.ToInt64Array();
            accA = Metrics.Agreement(argA, reference);
            accB = Metrics.Agreement(argB, reference);
            source = targetsFile ?? "targets";
        }
        string layout = fp32.Rank == 3 ? "logits (N, D, C) scored over (N, C, D): log-softmax over C, mean over N x D" : "logits (N, C): log-softmax over C, mean over N";
        return new ClassificationMetrics(output, positions, classes, layout, source,
            Metrics.CrossEntropy(a, classes, reference), Metrics.CrossEntropy(b, classes, reference),
            Metrics.Agreement(argA, argB), accA, accB);
    }

    /// <summary>
    /// Score agreement of a dual encoder: Pearson and Spearman between fp32 and int8 scores over all
    /// pairs; and, where consecutive rows share one context (a context with its candidates), the
    /// fraction of contexts whose best candidate is the same under both.
    /// </summary>
    internal static RankingMetrics Rank(string output, Tensor fp32, Tensor int8, Tensor context)
    {
        var a = fp32.ToDoubleArray();
        var b = int8.ToDoubleArray();
        int pairs = fp32.Dim(0);
        if (a.Length != pairs) throw new EdgeException($"dual encoder: output '{output}' {fp32.ShapeString} is not one score per pair");
        var groups = new List<(int Start, int Count)>();
        if (context.Dim(0) == pairs && pairs > 0)
        {
            var bytes = context.Contiguous().Bytes();
            int row = bytes.Length / pairs;
            int start = 0;
            for (int i = 1; i <= pairs; i++)
            {
                if (i < pairs && bytes.Slice(i * row, row).SequenceEqual(bytes.Slice(start * row, row))) continue;
                if (i - start > 1) groups.Add((start, i - start));
                start = i;
            }
        }
        double? top1 = null;
        if (groups.Count > 0)
        {
            int same = 0;
            foreach (var (s, c) in groups)
            {
                int ba = s, bb = s;
                for (int i = s + 1; i < s + c; i++) { if (a[i] > a[ba]) ba = i; if (b[i] > b[bb]) bb = i; }
                if (ba == bb) same++;
            }
            top1 = (double)same / groups.Count;
        }
        string grouping = groups.Count > 0
            ? $"{groups.Count} contexts, each followed by its candidates ({groups.Min(g => g.Count)}..{groups.Max(g => g.Count)} per context)"
            : "no grouped candidates (no consecutive rows share a context), so no top-1 agreement";
        return new RankingMetrics(output, pairs, Metrics.Pearson(a, b), Metrics.Spearman(a, b), groups.Count, top1, grouping);
    }
}
