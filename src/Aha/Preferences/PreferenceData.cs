using System.Text.Json;
using Aha.Data;

namespace Aha.Preferences;

/// <summary>How preference rows become pairs.</summary>
/// <param name="SkipBadRows">Count and skip malformed rows instead of stopping at the first (the report names each by file:line).</param>
public sealed record PreferenceDataOptions(BadRowReport? SkipBadRows = null);

/// <summary>
/// Reads preference pairs from the files users have. Today: JSON Lines in TRL's standard format
/// <c>{"prompt": "...", "chosen": "...", "rejected": "..."}</c>; each pair's <see cref="PreferencePair.Origin"/> is <c>file:line</c>.
/// </summary>
public static class PreferenceData
{
    public static IReadOnlyList<PreferencePair> Load(string path, PreferenceDataOptions? options = null)
    {
        options ??= new();
        return JsonlReader.ReadRows(path, Parse, options.SkipBadRows)
            .Select(r => r.Value with { Origin = $"{path}:{r.Line}" })
            .ToList();
    }

    static PreferencePair Parse(JsonElement row) =>
        PreferencePair.Text(Text(row, "prompt"), Text(row, "chosen"), Text(row, "rejected"));

    static string Text(JsonElement row, string field)
    {
        if (!row.TryGetProperty(field, out var value)) throw new InvalidDataException($"field \"{field}\" is missing");
        return value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw new InvalidDataException($"field \"{field}\" is a {value.ValueKind.ToString().ToLowerInvariant()}, expected a string");
    }
}
