namespace Aha.Tasks.Datasets;

/// <summary>
/// One record of a JSONL or Parquet file with its fields as text (numbers keep their JSON spelling), and where it
/// came from, so every complaint can name file:line and field. <see cref="Error"/> is set when the row itself is unreadable.
/// </summary>
public sealed record DataRow(string File, int Line, IReadOnlyDictionary<string, string?> Fields)
{
    public string? Error { get; init; }

    public string Location => $"{File}:{Line}";

    /// <summary>The field's text; throws <see cref="BadRowException"/> naming the field when it is missing, null or blank.</summary>
    public string Require(string field)
    {
        if (!Fields.TryGetValue(field, out var value) || value is null)
            throw new BadRowException(Location, field, $"missing (fields present: {string.Join(", ", Fields.Keys.Take(10))})");
        if (string.IsNullOrWhiteSpace(value)) throw new BadRowException(Location, field, "empty");
        return value;
    }

    public string? Optional(string field) => Fields.TryGetValue(field, out var value) ? value : null;
}
