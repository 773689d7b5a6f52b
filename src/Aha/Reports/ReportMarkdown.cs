using System.Globalization;
using System.Text;
using Aha.Eval;
using Aha.Training;

namespace Aha.Reports;

/// <summary>Renders the demo's report.md: settings, before/after, time, GRPO progress, plots, samples, glossary.</summary>
static class ReportMarkdown
{
    const int ProgressRows = 10;
    const int MaxShownChars = 800;

    public static string Render(DemoReportInput input, ModelMetrics before, ModelMetrics after, IReadOnlyList<ReportPlots.Figure> figures)
    {
        var md = new StringBuilder();
        md.AppendLine($"# {input.Title}").AppendLine();
        md.AppendLine("## Command").AppendLine().Append(Fence(input.Command)).AppendLine();
        if (input.Settings.Count > 0)
        {
            md.AppendLine("## Settings").AppendLine();
            Table(md, ["setting", "value"], input.Settings.Select(s => new[] { s.Key, Code(Setting(s.Value)) }), numeric: false);
        }
        BeforeAfter(md, input, before, after);
        Time(md, input.PhaseSeconds);
        Progress(md, input.Steps);
        if (figures.Count > 0)
        {
            md.AppendLine("## Plots").AppendLine();
            foreach (var figure in figures) md.AppendLine($"![{figure.Caption}]({figure.File})").AppendLine();
        }
        Samples(md, input);
        Glossary(md);
        return md.ToString();
    }

    static void BeforeAfter(StringBuilder md, DemoReportInput input, ModelMetrics before, ModelMetrics after)
    {
        md.AppendLine("## Before and after GRPO").AppendLine();
        var sampling = input.Final.Sampled?.Summary.Sampling;
        md.Append($"Held-out problems: {after.Problems}. Greedy accuracy and the completion columns come from one temperature-0 completion per problem");
        md.AppendLine(sampling is null
            ? "."
            : $"; pass@k and maj@k from {sampling.Samples} samples per problem at temperature {Number(sampling.Temperature, "G")}, top-p {Number(sampling.TopP, "G")}.");
        md.AppendLine();
        var rows = new List<string[]> { Row("greedy accuracy (pass@1)", before.Accuracy, after.Accuracy, null) };
        foreach (var k in before.PassAtK.Keys.Intersect(after.PassAtK.Keys).Where(k => k > 1).Order())
            rows.Add(Row($"pass@{k}", before.PassAtK[k], after.PassAtK[k], null));
        foreach (var k in before.MajAtK.Keys.Intersect(after.MajAtK.Keys).Where(k => k > 1).Order())
            rows.Add(Row($"maj@{k}", before.MajAtK[k], after.MajAtK[k], null));
        rows.Add(Row("mean completion tokens", before.MeanCompletionTokens ?? double.NaN, after.MeanCompletionTokens ?? double.NaN, "F1"));
        rows.Add(Row("completions that reason (`<think>`)", before.ThinkFraction, after.ThinkFraction, null));
        rows.Add(Row("reflective words per completion", before.ReflectiveWords, after.ReflectiveWords, "F2"));
        rows.Add(Row("format-correct completions", before.FormatFraction, after.FormatFraction, null));
        rows.Add(Row("truncated completions", before.TruncatedFraction, after.TruncatedFraction, null));
        Table(md, ["metric", "base", "after GRPO", "change"], rows);
    }

    /// <param name="format">a number format, or null for a share shown in percent with its change in points</param>
    static string[] Row(string name, double before, double after, string? format)
    {
        string Show(double v) => format is null ? Percent(v) : Number(v, format);
        var change = after - before;
        var sign = change >= 0 ? "+" : "";
        var delta = !double.IsFinite(change) ? "-" : format is null ? sign + Number(100 * change, "F1") + " pt" : sign + Number(change, format);
        return [name, Show(before), Show(after), delta];
    }

    static void Time(StringBuilder md, IReadOnlyDictionary<string, double> phases)
    {
        if (phases.Count == 0) return;
        md.AppendLine("## Time").AppendLine();
        var total = phases.Values.Sum();
        var rows = phases.Select(p => new[] { p.Key, Duration(p.Value), total > 0 ? Percent(p.Value / total) : "-" }).ToList();
        rows.Add(["**total**", $"**{Duration(total)}**", "100%"]);
        Table(md, ["phase", "wall clock", "share"], rows);
    }

    // A window mean rather than single steps: one GRPO step's numbers are noisy (a handful of groups), the trend is not.
    static void Progress(StringBuilder md, IReadOnlyList<GrpoStep> steps)
    {
        md.AppendLine("## GRPO progress").AppendLine();
        if (steps.Count == 0)
        {
            md.AppendLine("No GRPO steps were recorded.").AppendLine();
            return;
        }
        var stride = (int)Math.Ceiling(steps.Count / (double)ProgressRows);
        md.AppendLine($"{steps.Count} steps; each row is the mean over {(stride == 1 ? "one step" : $"{stride} consecutive steps")} of the training rollouts.").AppendLine();
        var columns = new (string Scalar, string Header, Func<double, string> Format)[]
        {
            ("reward", "reward", v => Number(v, "F3")),
            ("accuracy", "accuracy", Percent),
            ("think_fraction", "think", Percent),
            ("completion_tokens", "tokens", v => Number(v, "F1")),
            ("kl", "KL", v => Number(v, "G3")),
            ("entropy", "entropy", v => Number(v, "F3")),
            ("reflective_words", "reflective", v => Number(v, "F2")),
        };
        var rows = steps.Chunk(stride).Select(window =>
        {
            var label = window.Length == 1 ? $"{window[0].Step}" : $"{window[0].Step}–{window[^1].Step}";
            return new[] { label }.Concat(columns.Select(c => c.Format(Mean(window.Select(s => s[c.Scalar]))))).ToArray();
        });
        Table(md, ["steps", .. columns.Select(c => c.Header)], rows);
    }

    static void Samples(StringBuilder md, DemoReportInput input)
    {
        var before = input.Base.Greedy.Samples.GroupBy(s => s.Row.Id).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var after = input.Final.Greedy.Samples.GroupBy(s => s.Row.Id).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        // Changed verdicts first (newly solved, then newly failed): they show what GRPO did; the rest fill in, in problem order.
        var shown = before.Keys.Where(after.ContainsKey)
            .OrderBy(id => (before[id].Correct, after[id].Correct) switch { (false, true) => 0, (true, false) => 1, _ => 2 })
            .Take(input.SampleProblems).ToList();
        if (shown.Count == 0) return;
        md.AppendLine("## Sample completions (greedy, same problems)").AppendLine();
        md.AppendLine("Problems whose verdict changed are shown first.").AppendLine();
        foreach (var id in shown)
        {
            var (b, a) = (before[id], after[id]);
            md.AppendLine($"### Problem `{id}`, answer `{b.Row.Answer}`").AppendLine();
            if (b.Row.Prompt is { } prompt) md.AppendLine("Prompt:").AppendLine().Append(Fence(prompt)).AppendLine();
            Completion(md, "Base", b);
            Completion(md, "After GRPO", a);
        }
    }

    static void Completion(StringBuilder md, string label, ScoredSample sample)
    {
        var verdict = sample.Correct ? "✓ correct" : "✗ wrong";
        var answered = sample.Extracted is { } e ? $"answered `{e}`" : "no answer";
        var tokens = sample.Row.Tokens is { } t ? $", {t} tokens" : "";
        md.AppendLine($"**{label}** {verdict} ({answered}{tokens})").AppendLine();
        var text = sample.Row.Completion;
        if (text.Length > MaxShownChars) text = text[..MaxShownChars] + $"… ({text.Length - MaxShownChars} more characters)";
        md.Append(Fence(text)).AppendLine();
    }

    static void Glossary(StringBuilder md)
    {
        md.AppendLine("## What the metrics mean").AppendLine();
        string[] lines =
        [
            "**greedy accuracy (pass@1)**: share of held-out problems whose single temperature-0 completion has the right answer.",
            "**pass@k**: probability that at least one of k sampled completions is right (unbiased estimate from all samples of a problem).",
            "**maj@k**: share of problems where the most common answer among k sampled completions is right (self-consistency).",
            "**reward**: per completion, the weighted sum of the reward functions (accuracy: the answer verifies; format: `<think>…</think><answer>…</answer>`), averaged over a step's rollouts.",
            "**accuracy (GRPO steps)**: share of a step's rollouts that are right; training problems at training temperature, so not the held-out number.",
            "**think / completions that reason**: share of completions that open `<think>`; the short prompt lets the model choose whether to think.",
            "**reflective words**: wait / check / verify / again per completion, the words R1-Zero's \"aha moment\" showed up in; a crude proxy, not proof of reflection.",
            "**format-correct**: the completion is exactly a think block then a non-empty answer block.",
            "**completion tokens**: completion length (stop token included); R1-Zero's grew as it learned to reason at length.",
            "**KL**: per-token k3 estimate of KL(policy ‖ reference), how far GRPO has moved the model from the pretrained one.",
            "**entropy**: mean per-token entropy of the policy on its rollouts; falling entropy means more confident, less exploring.",
            "**loss ≈ 0 while the policy learns**: with one update per batch the probability ratio is exactly 1 and group-normalised advantages average to zero, so the loss value is ≈ 0; its gradient, Σ advantage · ∇log π, is not: it raises better-than-group completions and lowers worse ones.",
        ];
        foreach (var line in lines) md.AppendLine($"- {line}");
    }

    /// <param name="numeric">right-align every column after the first, so numbers line up</param>
    internal static void Table(StringBuilder md, IReadOnlyList<string> headers, IEnumerable<string[]> rows, bool numeric = true)
    {
        md.AppendLine("| " + string.Join(" | ", headers) + " |");
        md.AppendLine("|" + string.Concat(headers.Select((_, i) => i == 0 || !numeric ? " --- |" : " ---: |")));
        foreach (var row in rows) md.AppendLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|"))) + " |");
        md.AppendLine();
    }

    // A fence longer than any backtick run inside, so a completion that writes ``` cannot close the block early.
    internal static string Fence(string text)
    {
        var longest = 0;
        for (int i = 0, run = 0; i < text.Length; i++) longest = Math.Max(longest, run = text[i] == '`' ? run + 1 : 0);
        var fence = new string('`', Math.Max(3, longest + 1));
        return $"{fence}text\n{text.TrimEnd('\n')}\n{fence}\n";
    }

    static string Code(string text) => text.Contains('`') ? text : $"`{text}`";

    static string Setting(object value) => value switch
    {
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    static double Mean(IEnumerable<double> values)
    {
        var finite = values.Where(double.IsFinite).ToList();
        return finite.Count == 0 ? double.NaN : finite.Average();
    }

    internal static string Number(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "-";

    internal static string Percent(double share) => double.IsFinite(share) ? (100 * share).ToString("F1", CultureInfo.InvariantCulture) + "%" : "-";

    public static string Duration(double seconds)
    {
        if (!double.IsFinite(seconds)) return "-";
        if (seconds < 60) return seconds.ToString("F1", CultureInfo.InvariantCulture) + " s";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours} h {t.Minutes:D2} min {t.Seconds:D2} s" : $"{t.Minutes} min {t.Seconds:D2} s";
    }
}
