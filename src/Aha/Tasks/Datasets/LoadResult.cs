namespace Aha.Tasks.Datasets;

/// <summary>Rows that converted, and an account of those skipped (first few messages kept so the user can fix the file).</summary>
public sealed record LoadResult<T>(IReadOnlyList<T> Items, int Skipped, IReadOnlyList<string> Problems)
{
    public const int MaxProblemsKept = 5;

    /// <summary>
    /// Converts every row; a bad row throws (with file:line and field) unless <paramref name="skipBadRows"/>,
    /// in which case it is counted and the first messages kept.
    /// </summary>
    public static LoadResult<T> From(IEnumerable<DataRow> rows, Func<DataRow, T> convert, bool skipBadRows)
    {
        var items = new List<T>();
        var problems = new List<string>();
        var skipped = 0;
        foreach (var row in rows)
        {
            try
            {
                if (row.Error is not null) throw new BadRowException(row.Location, null, row.Error);
                items.Add(convert(row));
            }
            catch (BadRowException e) when (skipBadRows)
            {
                skipped++;
                if (problems.Count < MaxProblemsKept) problems.Add($"{e.Location}: {(e.Field is null ? "" : $"field '{e.Field}': ")}{e.Problem}");
            }
        }
        return new LoadResult<T>(items, skipped, problems);
    }
}
