namespace Aha.Tasks.Datasets;

/// <summary>Record layouts users already have; each sets default field names and how the gold is found.</summary>
public enum DatasetFormat
{
    /// <summary><c>{"prompt": …, "answer": …}</c>; the answer is the gold as is.</summary>
    Generic,
    /// <summary>GSM8K: <c>question</c>, <c>answer</c> = rationale ending in <c>#### 42</c>; the gold must be a number.</summary>
    Gsm8k,
    /// <summary>MATH: <c>problem</c>, <c>solution</c> containing <c>\boxed{…}</c>; the gold is the last boxed content.</summary>
    Math,
}
