namespace Aha.Tokenizer.Jinja;

/// <summary>
/// A chat template that cannot be parsed or rendered: an unsupported construct, an unknown filter/test/method, a type
/// error, or the template's own <c>raise_exception(...)</c>. The message names the template source, line and column.
/// </summary>
public sealed class JinjaTemplateException : Exception
{
    /// <summary>Creates the error; <paramref name="what"/> is the problem without its location.</summary>
    public JinjaTemplateException(string source, int line, int column, string what, string? raisedMessage = null)
        : base($"{source}:{line}:{column}: {what}")
    {
        TemplateSource = source;
        Line = line;
        Column = column;
        RaisedMessage = raisedMessage;
    }

    /// <summary>Where the template came from (a file path, or e.g. "tokenizer_config.json chat_template").</summary>
    public string TemplateSource { get; }
    /// <summary>1-based line in the template text.</summary>
    public int Line { get; }
    /// <summary>1-based column in the template text.</summary>
    public int Column { get; }
    /// <summary>The message passed to the template's <c>raise_exception</c>, when that is what failed; otherwise null.</summary>
    public string? RaisedMessage { get; }
}

/// <summary>A runtime problem not yet tied to a position; the evaluator adds the line and column of the node that failed.</summary>
sealed class JinjaRuntimeError(string message, string? raisedMessage = null) : Exception(message)
{
    public string? RaisedMessage { get; } = raisedMessage;
}
