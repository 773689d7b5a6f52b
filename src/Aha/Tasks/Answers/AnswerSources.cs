namespace Aha.Tasks.Answers;

/// <summary>Where an answer may be read from in a completion, tried in this order (see <see cref="AnswerExtractor"/>).</summary>
[Flags]
public enum AnswerSources
{
    None = 0,
    /// <summary>The last complete <c>&lt;answer&gt;…&lt;/answer&gt;</c>; a <c>\boxed{}</c> inside it narrows it further.</summary>
    AnswerTag = 1,
    /// <summary>The last complete <c>\boxed{…}</c> (or <c>\fbox{…}</c>), braces nested to any depth.</summary>
    Boxed = 2,
    /// <summary>The rest of the line after the last <c>####</c> (GSM8K).</summary>
    Hashes = 4,
    /// <summary>The last number anywhere in the text: the most lenient rule, last resort.</summary>
    LastNumber = 8,
    All = AnswerTag | Boxed | Hashes | LastNumber,
}
