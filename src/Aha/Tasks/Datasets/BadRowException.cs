namespace Aha.Tasks.Datasets;

/// <summary>A row that cannot be used: where it is, which field, what is wrong, and the way out.</summary>
public sealed class BadRowException(string location, string? field, string problem)
    : Exception($"{location}: {(field is null ? "" : $"field '{field}': ")}{problem}. Fix the row or pass --skip-bad-rows to skip it.")
{
    public string Location { get; } = location;
    public string? Field { get; } = field;
    public string Problem { get; } = problem;
}
