namespace Aha.Tokenizer.Jinja;

// The syntax tree of the Jinja subset chat templates use. Every node keeps the line and column it started at for errors.

abstract record Node(int Line, int Column);

sealed record TextNode(string Text, int Line, int Column) : Node(Line, Column);
sealed record OutputNode(Expr Value, int Line, int Column) : Node(Line, Column);
sealed record IfNode(IReadOnlyList<(Expr Test, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node>? Else, int Line, int Column) : Node(Line, Column);
sealed record ForNode(IReadOnlyList<string> Targets, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node>? Else, int Line, int Column)
    : Node(Line, Column);
/// <summary><c>{% set name = value %}</c>, or <c>{% set ns.attr = value %}</c> when <see cref="Attribute"/> is given.</summary>
sealed record SetNode(string Name, string? Attribute, Expr Value, int Line, int Column) : Node(Line, Column);
sealed record MacroNode(string Name, IReadOnlyList<(string Name, Expr? Default)> Parameters, IReadOnlyList<Node> Body, int Line, int Column)
    : Node(Line, Column);
/// <summary><c>{% break %}</c> (<see cref="IsBreak"/>) or <c>{% continue %}</c>, from the loopcontrols extension.</summary>
sealed record LoopControlNode(bool IsBreak, int Line, int Column) : Node(Line, Column);
/// <summary>
/// <c>{% generation %}…{% endgeneration %}</c>: transformers' AssistantTracker marks assistant text for
/// <c>return_assistant_tokens_mask</c>; for rendering the body is output unchanged.
/// </summary>
sealed record GenerationNode(IReadOnlyList<Node> Body, int Line, int Column) : Node(Line, Column);

abstract record Expr(int Line, int Column);

sealed record LiteralExpr(object? Value, int Line, int Column) : Expr(Line, Column);
sealed record NameExpr(string Name, int Line, int Column) : Expr(Line, Column);
sealed record ListExpr(IReadOnlyList<Expr> Items, int Line, int Column) : Expr(Line, Column);
sealed record DictExpr(IReadOnlyList<(Expr Key, Expr Value)> Pairs, int Line, int Column) : Expr(Line, Column);
sealed record AttributeExpr(Expr Target, string Name, int Line, int Column) : Expr(Line, Column);
sealed record ItemExpr(Expr Target, Expr Index, int Line, int Column) : Expr(Line, Column);
sealed record SliceExpr(Expr Target, Expr? Start, Expr? Stop, Expr? Step, int Line, int Column) : Expr(Line, Column);
sealed record CallExpr(Expr Callee, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line, int Column)
    : Expr(Line, Column);
sealed record FilterExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, IReadOnlyList<(string Name, Expr Value)> Kwargs, int Line, int Column)
    : Expr(Line, Column);
sealed record TestExpr(Expr Value, string Name, IReadOnlyList<Expr> Args, bool Negated, int Line, int Column) : Expr(Line, Column);
/// <summary>Unary <c>-</c>, <c>+</c> or <c>not</c>.</summary>
sealed record UnaryExpr(string Op, Expr Operand, int Line, int Column) : Expr(Line, Column);
/// <summary>Arithmetic (<c>+ - * / // % **</c>), <c>~</c>, and the short-circuit <c>and</c>/<c>or</c>.</summary>
sealed record BinaryExpr(string Op, Expr Left, Expr Right, int Line, int Column) : Expr(Line, Column);
/// <summary>A comparison chain <c>a &lt; b == c</c>; ops are <c>== != &lt; &lt;= &gt; &gt;= in notin</c>.</summary>
sealed record CompareExpr(Expr First, IReadOnlyList<(string Op, Expr Right)> Rest, int Line, int Column) : Expr(Line, Column);
/// <summary><c>a if test else b</c>; without else the value is undefined when the test fails, as in Jinja2.</summary>
sealed record ConditionalExpr(Expr Test, Expr Then, Expr? Else, int Line, int Column) : Expr(Line, Column);
