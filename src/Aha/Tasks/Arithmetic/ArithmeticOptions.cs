namespace Aha.Tasks.Arithmetic;

/// <summary>
/// Shape of generated arithmetic problems such as <c>23+58*4</c>. Each operand gets a digit count drawn uniformly
/// from [MinDigits, MaxDigits], so short and long operands mix. Results are exact integers (no division).
/// </summary>
public sealed record ArithmeticOptions
{
    public int MinDigits { get; init; } = 1;
    public int MaxDigits { get; init; } = 2;
    public int MinOperands { get; init; } = 2;
    public int MaxOperands { get; init; } = 2;
    /// <summary>Any of <c>+ - *</c>; <c>*</c> binds tighter than <c>+ -</c>.</summary>
    public string Operations { get; init; } = "+-";
    /// <summary>Off: problems with a negative result are redrawn (a tiny model learns signs later).</summary>
    public bool AllowNegative { get; init; }

    /// <summary>Difficulty levels 1 (<c>3+5</c>) to 6 (<c>4821-37*906</c>).</summary>
    public static ArithmeticOptions Level(int level) => level switch
    {
        1 => new() { MinDigits = 1, MaxDigits = 1, Operations = "+-" },
        2 => new() { MinDigits = 1, MaxDigits = 2, Operations = "+-" },
        3 => new() { MinDigits = 2, MaxDigits = 2, Operations = "+-*" },
        4 => new() { MinDigits = 1, MaxDigits = 2, MinOperands = 3, MaxOperands = 3, Operations = "+-*" },
        5 => new() { MinDigits = 3, MaxDigits = 3, Operations = "+-*" },
        6 => new() { MinDigits = 1, MaxDigits = 4, MinOperands = 2, MaxOperands = 3, Operations = "+-*" },
        _ => throw new ArgumentException($"arithmetic level {level} does not exist; use 1 to {Levels}."),
    };

    public const int Levels = 6;

    public ArithmeticOptions Validate()
    {
        void Require(bool ok, string message) { if (!ok) throw new ArgumentException($"arithmetic options: {message}"); }
        Require(MinDigits >= 1 && MinDigits <= MaxDigits, $"need 1 <= min_digits ({MinDigits}) <= max_digits ({MaxDigits}).");
        Require(MinOperands >= 2 && MinOperands <= MaxOperands, $"need 2 <= min_operands ({MinOperands}) <= max_operands ({MaxOperands}).");
        // Products of MaxOperands numbers of MaxDigits digits must fit a long.
        Require(MaxDigits * MaxOperands <= 18, $"max_digits × max_operands = {MaxDigits * MaxOperands} exceeds 18; results would overflow.");
        Require(Operations.Length > 0 && Operations.All(c => c is '+' or '-' or '*'), $"operations '{Operations}' must be made of + - *.");
        return this;
    }
}
