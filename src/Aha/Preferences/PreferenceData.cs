using System.Text.Json;
using Aha.Data;
using Aha.Tasks.Datasets;
using Parquet.Serialization;

namespace Aha.Preferences;

/// <summary>The row shapes <see cref="PreferenceData.Load"/> reads.</summary>
public enum PreferenceFormat
{
    /// <summary>Decided per file by its first row (see <see cref="PreferenceData"/>).</summary>
    Auto,
    /// <summary>TRL standard: <c>{"prompt": "…", "chosen": "…", "rejected": "…"}</c>, plain text.</summary>
    Standard,
    /// <summary>TRL conversational: chosen/rejected as lists of <c>{"role","content"}</c>, with a <c>prompt</c> list, or without one (the shared prefix is the prompt).</summary>
    Conversational,
    /// <summary>Anthropic HH-RLHF: <c>{"chosen", "rejected"}</c> full "\n\nHuman: … \n\nAssistant: …" transcripts; the text up to the last "\n\nAssistant:" is the prompt.</summary>
    HhRlhf,
    /// <summary>UltraFeedback: a prompt with several scored completions; pairs are made by <see cref="PreferenceDataOptions.Pairs"/>.</summary>
    UltraFeedback,
}

/// <summary>Which pairs a row with several scored completions gives.</summary>
public enum PreferencePairing
{
    /// <summary>The best-scored completion against the worst (UltraFeedback binarization, one pair per row).</summary>
    BestVsWorst,
    /// <summary>Every two completions with different scores, the higher-scored chosen.</summary>
    All,
}

/// <summary>How preference rows become pairs.</summary>
/// <param name="SkipBadRows">Count and skip malformed rows instead of stopping at the first (the report names each by file:line).</param>
public sealed record PreferenceDataOptions(BadRowReport? SkipBadRows = null)
{
    /// <summary>The row shape; <see cref="PreferenceFormat.Auto"/> decides from each file's first row.</summary>
    public PreferenceFormat Format { get; init; } = PreferenceFormat.Auto;
    /// <summary>Pairs from rows with several scored completions (UltraFeedback); each pair's margin is its score difference.</summary>
    public PreferencePairing Pairs { get; init; } = PreferencePairing.BestVsWorst;
}

/// <summary>
/// Reads preference pairs from the files users have, JSON Lines (<c>.jsonl</c>) or Parquet (<c>.parquet</c>, Hugging Face
/// dataset exports) in the formats of <see cref="PreferenceFormat"/>. With <see cref="PreferenceFormat.Auto"/> the first row
/// decides: a <c>completions</c> field is UltraFeedback; <c>chosen</c> as a list is TRL conversational; <c>chosen</c> as text
/// with a <c>prompt</c> is TRL standard, without one HH-RLHF. A score difference in the row (<c>score_chosen</c> −
/// <c>score_rejected</c>, UltraFeedback's ratings) becomes <see cref="PreferencePair.Margin"/>. Each pair's
/// <see cref="PreferencePair.Origin"/> is <c>file:line</c> (Parquet: <c>file:row N</c>); a bad row is named there with its field.
/// </summary>
public static class PreferenceData
{
    public static IReadOnlyList<PreferencePair> Load(string path, PreferenceDataOptions? options = null)
    {
        options ??= new();
        var format = options.Format;
        IEnumerable<PreferencePair> Parse(JsonElement row)
        {
            if (format == PreferenceFormat.Auto) format = PreferenceRows.Detect(row); // the first row decides for the whole file
            return PreferenceRows.Parse(row, format, options.Pairs);
        }

        if (Path.GetExtension(path).Equals(".parquet", StringComparison.OrdinalIgnoreCase))
            return ReadParquet(path, row => Parse(row).ToList(), options.SkipBadRows);
        return JsonlReader.ReadRows(path, row => Parse(row).ToList(), options.SkipBadRows)
            .SelectMany(r => r.Value.Select(p => p with { Origin = $"{path}:{r.Line}" }))
            .ToList();
    }

    /// <summary>A command line's format name: auto, standard (trl), conversational, hh-rlhf (hh) or ultrafeedback.</summary>
    public static PreferenceFormat ParseFormat(string name) => name.ToLowerInvariant() switch
    {
        "auto" => PreferenceFormat.Auto,
        "standard" or "trl" => PreferenceFormat.Standard,
        "conversational" => PreferenceFormat.Conversational,
        "hh-rlhf" or "hh" => PreferenceFormat.HhRlhf,
        "ultrafeedback" => PreferenceFormat.UltraFeedback,
        _ => throw new ArgumentException($"--format '{name}': use auto, standard, conversational, hh-rlhf or ultrafeedback."),
    };

    /// <summary>A command line's pairing name: best-vs-worst or all.</summary>
    public static PreferencePairing ParsePairing(string name) => name.ToLowerInvariant() switch
    {
        "best-vs-worst" => PreferencePairing.BestVsWorst,
        "all" => PreferencePairing.All,
        _ => throw new ArgumentException($"--pairs '{name}': use best-vs-worst or all."),
    };

    /// <summary>Parquet rows as JSON objects (nested lists and structs included), parsed by the same rules as JSON Lines.</summary>
    static List<PreferencePair> ReadParquet(string path, Func<JsonElement, List<PreferencePair>> parse, BadRowReport? skipBadRows)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such data file.", path);
        using var stream = File.OpenRead(path);
        var table = DataFiles.Damaged(path, stream.Length, cancel => ParquetSerializer.DeserializeUntypedAsync(stream, cancellationToken: cancel));
        var pairs = new List<PreferencePair>();
        int number = 0;
        foreach (var record in table.Data)
        {
            string origin = $"{path}:row {++number}";
            try
            {
                var row = JsonSerializer.SerializeToElement(record);
                pairs.AddRange(parse(row).Select(p => p with { Origin = origin }));
            }
            catch (InvalidDataException e)
            {
                string message = $"{origin}: {e.Message}";
                if (skipBadRows is null) throw new InvalidDataException(message + ". Fix or remove the row, or pass a BadRowReport as skipBadRows to skip bad rows.");
                skipBadRows.Add(message);
            }
        }
        return pairs;
    }
}
