namespace Aha.Data;

/// <summary>
/// Collects the malformed rows a reader skipped (pass one as <c>skipBadRows</c>): how many, and the first few
/// messages, each naming file:line, the field and the problem. Without a report, the first bad row throws.
/// </summary>
public sealed class BadRowReport(int keepMessages = 5)
{
    readonly List<string> _messages = [];

    /// <summary>Rows skipped so far.</summary>
    public int Count { get; private set; }

    /// <summary>The messages of the first skipped rows (at most the number given to the constructor).</summary>
    public IReadOnlyList<string> FirstMessages => _messages;

    /// <summary>Counts one skipped row.</summary>
    public void Add(string message)
    {
        Count++;
        if (_messages.Count < keepMessages) _messages.Add(message);
    }

    /// <summary>One line for a log, then the first messages.</summary>
    public override string ToString() => Count == 0 ? "no bad rows"
        : $"skipped {Count} bad row{(Count == 1 ? "" : "s")}; first:\n  " + string.Join("\n  ", _messages);
}
