namespace Aha.Tasks.Datasets;

/// <summary>How to read a dataset file: its format, and field names when they differ from the format's defaults.</summary>
public sealed record DatasetOptions
{
    public DatasetFormat Format { get; init; } = DatasetFormat.Generic;
    public string? PromptField { get; init; }
    public string? AnswerField { get; init; }
    /// <summary>A field holding a stable problem id; rows without it are named file:line.</summary>
    public string IdField { get; init; } = "id";
    /// <summary>Reject (or skip) rows whose gold is not a number. Default: on for GSM8K only.</summary>
    public bool? NumericGold { get; init; }
    public bool SkipBadRows { get; init; }

    public string Prompt => PromptField ?? Format switch { DatasetFormat.Gsm8k => "question", DatasetFormat.Math => "problem", _ => "prompt" };
    public string Answer => AnswerField ?? Format switch { DatasetFormat.Math => "solution", _ => "answer" };
    public bool RequiresNumericGold => NumericGold ?? Format == DatasetFormat.Gsm8k;

    public static DatasetFormat ParseFormat(string name) => name.ToLowerInvariant() switch
    {
        "generic" or "jsonl" or "prompt-answer" => DatasetFormat.Generic,
        "gsm8k" => DatasetFormat.Gsm8k,
        "math" => DatasetFormat.Math,
        _ => throw new ArgumentException($"unknown dataset format '{name}'; use generic, gsm8k or math."),
    };
}
