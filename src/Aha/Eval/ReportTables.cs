using System.Globalization;

namespace Aha.Eval;

/// <summary>The printed tables: one run's summary, and two runs side by side on the problems they share.</summary>
public static class ReportTables
{
    public static string Summary(EvalSummary s)
    {
        var table = new TextTable("metric", "value");
        foreach (var (name, value) in Metrics(s)) table.Add(name, value);
        return table.ToString();
    }

    /// <summary>
    /// Metrics of both runs with their difference, then a per-problem head-to-head on the shared ids (which run's
    /// per-problem accuracy c/n is higher). Used by <c>aha score --compare</c> and <c>aha eval --compare</c>.
    /// </summary>
    public static string Compare(EvalReport a, EvalReport b, string labelA = "A", string labelB = "B")
    {
        var byIdB = b.Problems.ToDictionary(p => p.Id, StringComparer.Ordinal);
        var shared = a.Problems.Where(p => byIdB.ContainsKey(p.Id)).ToList();
        if (shared.Count == 0) throw new ArgumentException($"{labelA} and {labelB} share no problem ids; compare results on the same problems.");

        var metricsA = Metrics(a.Summary).ToDictionary(m => m.Name, m => m.Value);
        var metricsB = Metrics(b.Summary).ToDictionary(m => m.Name, m => m.Value);
        var table = new TextTable("metric", labelA, labelB, "delta");
        foreach (var name in metricsA.Keys.Union(metricsB.Keys))
        {
            var va = metricsA.GetValueOrDefault(name, "-");
            var vb = metricsB.GetValueOrDefault(name, "-");
            table.Add(name, va, vb, Delta(va, vb));
        }

        int aBetter = 0, bBetter = 0, bothRight = 0, bothWrong = 0;
        foreach (var pa in shared)
        {
            var pb = byIdB[pa.Id];
            if (pa.Accuracy > pb.Accuracy) aBetter++;
            else if (pb.Accuracy > pa.Accuracy) bBetter++;
            else if (pa.Correct > 0) bothRight++;
            else bothWrong++;
        }
        var heads = new TextTable("problems (shared: " + shared.Count + ")", "count")
            .Add($"{labelA} better", aBetter.ToString())
            .Add($"{labelB} better", bBetter.ToString())
            .Add("tied, solved", bothRight.ToString())
            .Add("tied, unsolved", bothWrong.ToString());
        var missing = a.Problems.Count - shared.Count + (b.Problems.Count - shared.Count);
        var note = missing == 0 ? "" : $"\n{missing} problem(s) appear in only one run and are left out of the head-to-head.\n";
        return table + "\n" + heads + note;
    }

    static IEnumerable<(string Name, string Value)> Metrics(EvalSummary s)
    {
        yield return ("problems", s.Problems.ToString(CultureInfo.InvariantCulture));
        yield return ("samples", s.Samples.ToString(CultureInfo.InvariantCulture));
        yield return ("accuracy", Percent(s.Accuracy));
        foreach (var (k, v) in s.PassAtK.OrderBy(kv => kv.Key)) yield return ($"pass@{k}", Percent(v));
        foreach (var (k, v) in s.MajAtK.OrderBy(kv => kv.Key)) yield return ($"maj@{k}", Percent(v));
        yield return ("no answer", Percent(s.NoAnswerShare));
        yield return ("truncated", Percent(s.TruncatedShare));
        yield return ("mean length (chars)", s.MeanCompletionChars.ToString("F1", CultureInfo.InvariantCulture));
        if (s.MeanCompletionTokens is { } tokens) yield return ("mean length (tokens)", tokens.ToString("F1", CultureInfo.InvariantCulture));
    }

    static string Percent(double value) => (100 * value).ToString("F1", CultureInfo.InvariantCulture) + "%";

    static string Delta(string a, string b)
    {
        var percent = a.EndsWith('%');
        if (!double.TryParse(a.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ||
            !double.TryParse(b.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var y)) return "";
        var d = y - x;
        var counts = !a.Contains('.') && !b.Contains('.');
        return (d >= 0 ? "+" : "") + d.ToString(counts ? "F0" : "F1", CultureInfo.InvariantCulture) + (percent ? " pt" : "");
    }
}
