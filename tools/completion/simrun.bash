# bash completion for simrun (installed as share/bash-completion/completions/simrun)
_simrun() {
    local cur prev words cword
    _init_completion 2>/dev/null || {
        cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
    }
    local cmd="" sub="" i
    for ((i = 1; i < cword; i++)); do
        case "${words[i]}" in
            check|explore|replay|view|export|grade|clean) [ -z "$cmd" ] && cmd="${words[i]}" ;;
            merge) [ "$cmd" = grade ] && sub=merge ;;
        esac
    done
    local run_opts="--out --quiet --perfetto --html --stats --events --color --no-sandbox --seed --strategy --depth --controlled --free --help --version"
    case "$prev" in
        --strategy) COMPREPLY=($(compgen -W "random pct rr" -- "$cur")); return ;;
        --color) COMPREPLY=($(compgen -W "auto always never" -- "$cur")); return ;;
        --format) COMPREPLY=($(compgen -W "jsonl perfetto html" -- "$cur")); return ;;
        --kind) COMPREPLY=($(compgen -W "op block call spawn exec exec_failed exit reaped signal fault undo output zombie orphan" -- "$cur")); return ;;
        -o|--output) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --proc|--object|--from|--to|--seq|--around-failure) return ;;
        --out) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --seed|--events|--depth|--runs|--preemptions|--shrink-time|--jobs|-j|--shard) return ;;
    esac
    local opts files="toml"
    case "$cmd" in
        "") opts="$run_opts"; [[ "$cur" == -* ]] || COMPREPLY=($(compgen -W "check explore replay view export grade clean" -- "$cur")) ;;
        check) opts="--help" ;;
        explore) opts="--runs --out --quiet --perfetto --html --stats --events --color --no-sandbox --seed --strategy --depth --exhaustive --preemptions --shrink-time --help" ;;
        replay) opts="--out --quiet --perfetto --html --stats --events --color --no-sandbox --help" ;;
        view) opts="--proc --object --kind --from --to --seq --around-failure --summary --stats --events --color --help"; files=any ;;
        export) opts="--format --output -o --help"; files=any ;;
        grade) if [ -n "$sub" ]; then opts="--out --help"; files=dir; else opts="--out --jobs --shard --no-sandbox --help"
               [[ "$cur" == -* ]] || COMPREPLY=($(compgen -W "merge" -- "$cur")); fi ;;
        clean) opts="--help"; files="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [ "$files" = toml ]; then
        COMPREPLY+=($(compgen -f -X '!*.toml' -- "$cur") $(compgen -d -- "$cur"))
    elif [ "$files" = any ]; then
        COMPREPLY+=($(compgen -f -- "$cur"))
    elif [ "$files" = dir ]; then
        COMPREPLY+=($(compgen -d -- "$cur"))
    fi
}
complete -F _simrun simrun
