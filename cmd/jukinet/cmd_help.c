/*
 * cmd_help.c — `jukinet help [exit-codes]`.
 */
#include "cli.h"

#include <string.h>

static const char *const usage_en =
    "jukinet — Basic Resident Register Network node (住基ネット)\n"
    "\n"
    "usage: jukinet [--lang ja|en] [--json] [--dir DIR] <noun> <verb> [options]\n"
    "\n"
    "  node init --dir D --lgcode CODE --name NAME [--role municipal|prefectural|national]\n"
    "  node show\n"
    "  resident add --name 氏名 --kana カナ --birth DATE --sex 男|女 --address 住所\n"
    "               [--code CODE] [--reason move-in|birth|entry] [--date DATE]\n"
    "               [--household ID] [--relation 続柄] [--note TEXT]\n"
    "  resident move CODE --kind KIND [--date DATE] [--address A] [--name N] [--kana K]\n"
    "               [--birth D] [--sex S] [--household ID|new] [--relation R] [--note TEXT]\n"
    "       KIND: move-in 転入, move-out 転出, move-within 転居, birth 出生, death 死亡,\n"
    "             entry 職権記載, correction 職権修正, removal 職権消除, code-change 住民票コード変更\n"
    "  resident show CODE            resident history CODE\n"
    "  resident list [--status active|removed|all] [--household ID] [--limit N] [--offset N]\n"
    "  resident search [--kana K] [--name N] [--birth DATE] [--sex S] [--address A] [--limit N]\n"
    "  resident import --format csv [--encoding utf-8|cp932] FILE    (all or nothing)\n"
    "  resident export --format csv [--encoding utf-8|cp932] [--out FILE]\n"
    "  code check CODE               code new\n"
    "  lgcode check CODE\n"
    "  date convert TEXT             (西暦 ⇄ 和暦)\n"
    "  purpose list                  purpose show CODE   (lawful purposes, 住民基本台帳法 別表)\n"
    "  agency add ID --name NAME --purposes B1-77,… [--rate N]    agency list | show ID | revoke ID\n"
    "  gen residents --count N --seed S [--city 大阪府枚方市] [--out FILE] [--encoding cp932]\n"
    "  help exit-codes\n"
    "\n"
    "--dir defaults to $JUKINET_DIR. --json gives machine-readable output on reads.\n";

static const char *const usage_ja =
    "jukinet — 住民基本台帳ネットワークシステム(住基ネット)のノード\n"
    "\n"
    "使い方: jukinet [--lang ja|en] [--json] [--dir DIR] <対象> <操作> [オプション]\n"
    "\n"
    "  node init --dir D --lgcode コード --name 名称 [--role municipal|prefectural|national]\n"
    "                                ノードを作成\n"
    "  node show                     ノードの情報\n"
    "  resident add --name 氏名 --kana カナ --birth 生年月日 --sex 男|女 --address 住所\n"
    "               [--code コード] [--reason move-in|birth|entry] [--date 異動日]\n"
    "               [--household 世帯番号] [--relation 続柄] [--note 備考]      住民の記載\n"
    "  resident move コード --kind 異動事由 [--date 異動日] [--address 住所] [--name 氏名]\n"
    "               [--kana カナ] [--birth 生年月日] [--sex 性別] [--household 番号|new]\n"
    "               [--relation 続柄] [--note 備考]                             異動の届出\n"
    "       異動事由: 転入 move-in、転出 move-out、転居 move-within、出生 birth、死亡 death、\n"
    "                 職権記載 entry、職権修正 correction、職権消除 removal、\n"
    "                 住民票コード変更 code-change\n"
    "  resident show コード          resident history コード(異動の履歴)\n"
    "  resident list [--status active|removed|all] [--household 世帯番号] [--limit 件数] [--offset 位置]\n"
    "  resident search [--kana カナ] [--name 氏名] [--birth 生年月日] [--sex 性別] [--address 住所]\n"
    "  resident import --format csv [--encoding utf-8|cp932] ファイル   (全件成功時のみ取込)\n"
    "  resident export --format csv [--encoding utf-8|cp932] [--out ファイル]\n"
    "  code check コード             住民票コードの検査      code new   新しいコード\n"
    "  lgcode check コード           地方公共団体コードの検査\n"
    "  date convert 日付             西暦と和暦の変換\n"
    "  purpose list                  purpose show コード  提供の利用目的(住民基本台帳法 別表)\n"
    "  agency add 識別子 --name 名称 --purposes B1-77,… [--rate 件数]   提供先機関の登録\n"
    "  agency list | show 識別子 | revoke 識別子                   提供先機関の一覧・表示・取消\n"
    "  gen residents --count 件数 --seed 種 [--city 大阪府枚方市] [--out ファイル]\n"
    "                                架空の住民データ(CSV)\n"
    "  help exit-codes               終了コードの一覧\n"
    "\n"
    "--dir を省略すると $JUKINET_DIR を使います。参照系の操作は --json で JSON を出力します。\n";

static const struct {
  int code;
  const char *en, *ja;
} exit_codes[] = {
    {EXIT_OK_, "success", "成功"},
    {EXIT_INVALID, "input refused as invalid (code, date, CSV row …)", "入力が不正(コード、日付、CSV の行など)"},
    {EXIT_USAGE, "wrong command line", "コマンドラインの誤り"},
    {EXIT_NOTFOUND, "not found", "見つからない"},
    {EXIT_CONFLICT, "already exists or conflicts with the current state", "既に存在する、または現在の状態と矛盾"},
    {EXIT_AUTH, "authentication failed", "認証の失敗"},
    {EXIT_PERM, "permission denied", "権限がない"},
    {EXIT_BUSY, "busy (the database is locked): try again", "使用中(データベースがロック中)。再試行"},
    {EXIT_CORRUPT, "data is corrupt", "データの破損"},
    {EXIT_IO, "input/output error, out of memory, other failure", "入出力エラー、メモリ不足、その他"},
    {EXIT_DISCONNECTED, "the connection is stopped (接続の停止)", "接続の停止中"},
    {EXIT_UNSUPPORTED, "not supported by this build", "この版では未対応"},
};

int cmd_help(int argc, char **argv, cli_global *g) {
  bool ja = jk_lang_get() == JK_LANG_JA;
  if (argc >= 1 && strcmp(argv[0], "exit-codes") == 0) {
    if (g->json) {
      json_t *a = json_array();
      for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
        json_array_append_new(a, json_pack("{s:i,s:s}", "code", exit_codes[i].code, "meaning",
                                           ja ? exit_codes[i].ja : exit_codes[i].en));
      return cli_json(a);
    }
    for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++)
      printf("%3d  %s\n", exit_codes[i].code, ja ? exit_codes[i].ja : exit_codes[i].en);
    return 0;
  }
  if (argc >= 1) return cli_usage("unknown help topic '%s'", argv[0]);
  fputs(ja ? usage_ja : usage_en, stdout);
  return 0;
}
