# bash completion for pgtrickle, the command-line tool of pg_trickle.
# Installed as share/bash-completion/completions/pgtrickle; to try it
# without installing: source cli/completion/pgtrickle.bash

_pgtrickle_stream_tables()
{
	# Ask the tool itself, with the connection options already typed.
	local -a conn=()
	local i w
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		-h | -p | -U | -d | --host | --port | --username | --dbname | --url)
			conn+=("$w" "${words[i + 1]}")
			((i++))
			;;
		--host=* | --port=* | --username=* | --dbname=* | --url=* | -w | --no-password)
			conn+=("$w")
			;;
		esac
	done
	# eval expands the quoting of the typed values (e.g. -d "host=x dbname=y")
	local cmd=""
	((${#conn[@]})) && printf -v cmd '%q ' "${conn[@]}"
	eval "command ${words[0]} -w $cmd list --format csv" 2>/dev/null |
		awk -F, '
			function ident(s) {
				if (s ~ /^[a-z_][a-z0-9_$]*$/)
					return s
				gsub(/"/, "\"\"", s)
				return "\"" s "\""
			}
			NR > 1 { print ($2 == "public" ? ident($1) : ident($2) "." ident($1)) }'
}

_pgtrickle()
{
	local cur prev words cword split
	_init_completion -s || return

	local commands="list status create drop refresh alter pause resume verify explain history health stats watch help"
	local global="--host --port --username --dbname --url --no-password --password --format --no-color --help --version"

	case $prev in
	--format)
		COMPREPLY=($(compgen -W "table json csv" -- "$cur"))
		return
		;;
	--mode)
		COMPREPLY=($(compgen -W "DIFFERENTIAL FULL AUTO" -- "$cur"))
		return
		;;
	--status)
		COMPREPLY=($(compgen -W "ACTIVE PAUSED" -- "$cur"))
		return
		;;
	--schedule)
		COMPREPLY=($(compgen -W "30s 1m 5m 10m 1h 1d @hourly @daily calculated" -- "$cur"))
		return
		;;
	--cdc-mode)
		COMPREPLY=($(compgen -W "trigger" -- "$cur"))
		return
		;;
	--interval)
		COMPREPLY=($(compgen -W "500ms 1s 2s 5s 10s 1m" -- "$cur"))
		return
		;;
	--file)
		_filedir
		return
		;;
	-h | --host)
		_known_hosts_real -- "$cur"
		return
		;;
	-U | --username)
		COMPREPLY=($(compgen -u -- "$cur"))
		return
		;;
	-p | --port | -d | --dbname | --url | --query | --limit | --count)
		return
		;;
	esac
	$split && return

	# the command and the positional words after it
	local i w command="" npos=0
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		-h | -p | -U | -d | --host | --port | --username | --dbname | --url | --format | \
			--query | --file | --schedule | --mode | --status | --cdc-mode | --limit | --interval | --count)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $command ]]; then
				command=$w
			else
				((npos++))
			fi
			;;
		esac
	done

	local opts=""
	case $command in
	create) opts="--query --file --schedule --mode --no-initialize --cdc-mode" ;;
	alter) opts="--query --file --schedule --mode --status" ;;
	drop) opts="--cascade" ;;
	history) opts="--limit" ;;
	watch) opts="--interval --count" ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$global $opts" -- "$cur"))
		[[ ${COMPREPLY-} == *= ]] && compopt -o nospace
		return
	fi

	case $command in
	"")
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	help)
		((npos == 0)) && COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		;;
	status | create | drop | refresh | alter | pause | resume | verify | explain | history)
		# create takes a new name: nothing to offer
		if ((npos == 0)) && [[ $command != create ]]; then
			# compgen -W would strip the SQL quotes of "Odd Names"
			local name
			while IFS= read -r name; do
				[[ $name == "$cur"* ]] || continue
				[[ $name == *\"* ]] && name="'$name'"
				COMPREPLY+=("$name")
			done < <(_pgtrickle_stream_tables)
		fi
		;;
	esac
} &&
	complete -F _pgtrickle pgtrickle
