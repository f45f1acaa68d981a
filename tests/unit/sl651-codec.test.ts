/**
 * SL 651-2014 codec: frames off a byte stream (frame.ts) and report bodies (body.ts), against
 * frames written down from two independent public implementations and from the standard's own
 * structure tables (the standard has no worked hex examples). Beijing time (+480 min) throughout.
 *
 * Sources:
 *  [yu]   github.com/yu-xiaoyao/sl651-2014-server @aeaae2e, netty-client/src/main/java/me/yuxiaoyao/
 *         sl651/client/Sl651ClientApplication.java (frames from blog.csdn.net/weixin_42163707/
 *         article/details/127638544) and netty-server/src/test/java/me/yuxiaoyao/sl651/netty/server/
 *         util/CrcUtilTest.java.
 *  [hw]   github.com/handsomestWei/sl651-2014, src/main/java/com/wjy/sl6512014/util/Crc16Util.java
 *         main(): dataStr1 with CRC "83 97".
 *  [std]  SL 651-2014 tables 16–26, §6.6.2–6.6.4, appendix C; CRCs of these frames computed
 *         independently (bitwise CRC-16/MODBUS in Python), not by the code under test.
 */
import { describe, expect, test } from 'vitest'
import {
  decodeBody,
  digitsFromTime,
  encodeAck,
  encodeReport,
  FN,
  readBcd,
  timeFromDigits,
  type Observation,
  type Report,
  type ReportToEncode,
} from '../../gateway/src/contracts/sl651/body.js'
import {
  crc16,
  encodeFrame,
  EOT,
  ETB,
  ETX,
  FrameReader,
  SOH,
  STX,
  SYN,
  type Frame,
  type FrameProblem,
  type FrameToSend,
  type ReadResult,
} from '../../gateway/src/contracts/sl651/frame.js'

/** Beijing time, the stations' clock (§6.6.2.5). */
const BJ = 480
const bj = (y: number, mo: number, d: number, h: number, mi: number, s = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s) - BJ * 60_000

const hexBytes = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')
/** An ASCII frame written as text: control characters as \x01 etc. */
const latin1 = (s: string) => Buffer.from(s, 'latin1')

function readAll(r: FrameReader): ReadResult[] {
  const out: ReadResult[] = []
  for (let x = r.read(); x !== undefined; x = r.read()) out.push(x)
  return out
}

function readStream(...chunks: Buffer[]): ReadResult[] {
  const r = new FrameReader()
  const out: ReadResult[] = []
  for (const c of chunks) {
    r.push(c)
    out.push(...readAll(r))
  }
  return out
}

function frameOf(x: ReadResult | undefined): Frame {
  if (x === undefined || !('frame' in x)) throw new Error(`expected a frame, got ${JSON.stringify(x)}`)
  return x.frame
}

function problemOf(x: ReadResult | undefined): FrameProblem {
  if (x === undefined || !('problem' in x)) throw new Error(`expected a problem, got ${JSON.stringify(x)}`)
  return x.problem
}

/** The one frame in `bytes`, nothing before or after it. */
function onlyFrame(bytes: Buffer): Frame {
  const results = readStream(bytes)
  expect(results).toHaveLength(1)
  return frameOf(results[0])
}

function decoded(f: Frame): Report {
  const r = decodeBody(f.encoding, f.fn, f.body, f.address, BJ)
  if (!r.ok) throw new Error(`body refused: ${JSON.stringify(r.error)}`)
  return r.report
}

const obs = (station: string, element: string, observedAt: number, value: number | null): Observation => ({
  station,
  element,
  observedAt,
  value,
})
/** A 5-minute series (DRP, DRZn) whose first value is at `first`. */
const every5 = (station: string, element: string, first: number, values: (number | null)[]) =>
  values.map((v, i) => obs(station, element, first + i * 300_000, v))

/** Re-encodes a frame read off the wire: the bytes must come out identical. */
const toSend = (f: Frame): FrameToSend => ({
  encoding: f.encoding,
  direction: f.direction,
  center: f.center,
  address: f.address,
  password: f.password,
  fn: f.fn,
  body: f.body,
  end: f.end,
  ...(f.packet ? { packet: f.packet } : {}),
})

// [yu] Sl651ClientApplication.java INNER_HEX, by function code.
const YU = {
  keepAlive: '7E7E01001234567812342F0008020003591011155111036BCA', // 2FH
  test: '7E7E010012345678123430002B020003591011154947F1F1001234567848F0F0591011154920190000052619000005392300000127381211150320FA', // 30H
  timed:
    '7E7E05001122334403E832002B020034170718110016F1F1001122334448F0F01707181100201900004026190000403923000104903812109903A421', // 32H
  added:
    '7E7E05001122334403E833002B020026170718102202F1F1001122334448F0F01707181022201900004026190000403923000104903812110203F511', // 33H
  hourly:
    '7E7E05001122334403E8340068020033170718110014F1F1001122334448F0F01707181005F4600500000014FFFFFFFFFF0000F0F017071811002619000040F0F01707181005F5C0000C000C001C00310031FFFFFFFFFFFFFFFFFFFF00310031F0F0170718110039230001049020190000403812109903F502', // 34H
  manual: '7E7E0100123456781234350011020004591011155145F2F251312E32333420034602', // 35H, CRC hand-made (wrong)
  realtime:
    '7E7E010012345678123437002B020009591011161403F1F1001234567848F0F0591011161420190000152619000015392300000122381211080338FE', // 37H
  period:
    '7E7E05001122334403E838002A020035170718110128F1F1001122334448F0F017071810050418000005F4600500000014FFFFFFFFFF000003E8AB', // 38H
  manualQuery: '7E7E0100123456781234390011020014170718100630F2F25120312E3233340346AA', // 39H
}
// [yu] CrcUtilTest.java calcCrc16_2: a keep-alive whose serial byte is 7EH.
const YU_CRC2 = '7E7E00987654321012342F0008027E0822101110074703C3AE'
// [hw] Crc16Util.java main(): dataStr1 + crcVerifyCode1.
const HW =
  '7E 7E 01 00 10 10 00 01 A0 00 32 00 2B 02 00 0C 20 07 24 17 23 49 F1 F1 00 10 10 00 01 48 F0 F0 20 07 24 17 23 20 19 00 01 30 22 19 00 00 40 39 23 00 00 05 50 38 12 12 68 03 83 97'
// [yu] INNER_HEX 0x36: a JPEG in 13 M3 packets (SYN, table 22), ETB on all but the last.
const YU_PICTURE = [
  '7E7E010012345678123436011C1600D0010005591011161118F1F1001234567848F0F05910111611F3F3FFD8FFE000104A46494600010100000100010000FFDB004300090606070606090707070909090A0C150D0C0C0C0C1912130F151E191F1E1C191C1C21242E2721222B221C1C2837282B30313434341F27393D39333C2E333431FFDB0043010909090C0A0C180D0D1831211C213131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131313131FFC4001F0000010501010101010100000000000000000102030405060708090A0BFFC400B5100002010303020403050504040000017D01020300041105122131410613516107227114328191A1082342B1C11552D1F02433627282090A161718191A1796CB',
  '7E7E01001234567812343601031600D00225262728292A3435363738393A434445464748494A535455565758595A636465666768696A737475767778797A838485868788898A92939495969798999AA2A3A4A5A6A7A8A9AAB2B3B4B5B6B7B8B9BAC2C3C4C5C6C7C8C9CAD2D3D4D5D6D7D8D9DAE1E2E3E4E5E6E7E8E9EAF1F2F3F4F5F6F7F8F9FAFFC4001F0100030101010101010101010000000000000102030405060708090A0BFFC400B51100020102040403040705040400010277000102031104052131061241510761711322328108144291A1B1C109233352F0156272D10A162434E125F11718191A262728292A35363738393A434445464748494A535455565758595A636465666768696A73741759D8',
  '7E7E01001234567812343601031600D00375767778797A82838485868788898A92939495969798999AA2A3A4A5A6A7A8A9AAB2B3B4B5B6B7B8B9BAC2C3C4C5C6C7C8C9CAD2D3D4D5D6D7D8D9DAE2E3E4E5E6E7E8E9EAF2F3F4F5F6F7F8F9FAFFC00011080078008003012100021101031101FFDD00040002FFDA000C03010002110311003F00CE5F0D693C7FA20FFBEDBFC6A55F0D692707EC9D3FE9A37F8D5FB79F4667ECE26B410AC3124483088A154649C003039A942E6B26DC9DD9692D8FFFD0D10BF95417FF0025B31F751FA8159CB61A4796EB103DBEAD74B29E4CECE3E8C770FD08AEE3C12A174881474C487FF221A5D110B5933FFFD1D32B4D2B53D02D61856A32B4D09A3FFFD299D7009A8996176456',
  '7E7E01001234567812343601031600D00482085D38AAD3AFC8DEB838A0968FFFD36B5ED9C0E526BA82365EAAD20047EB4C935DD2A02375EC6D9E9B3E7FE59A8BA15869F13E90A8585C3391FC2226C9FCC62A24F1869E71FE8F7433D7E55FFE2A97322AC7FFD4B3A4EA70EAF0C93411C88B14BE51F300193B55B2304F1861FAD58BB8F7DBBFB0CFE5CD67BA2B63CBFC4EEADAFCF18653265005CF3F71715D7781DE6FB0F913C2F1F9723471EE52370E1B3CFB923F0A4FE14671F899FFD5D8D94857E952318CB81D2A32BC66988FFFD6B8CBC542E941242EA6A174CD324FFFD7F3C000E00A70AC1948781522D2651FFFD0A7E0DB8794DC5B971E5C514642003825A4CB7E2028FF0080D74E630EA5597208C1179267',
  '7E7E01001234567812343601031600D00515942F6346B5016F173FBA8FFEF91408630721141F50314D45224FFFD1DD2831D290A77F5A9631852A364E29833FFFD2D165A89D29A132174A81D7834127FFD3F3D5A70E2B16521EA2A45152523FFFD4CCF05CAAB7CD0AA0CCB13348DEC8C9B47FE3EF5DA05FA5651D8D1EE382E791D28DA3FC8AAD047FFFD5E8CAD34AD4F528615A615E2A847FFFD6D764A85D68132074A85D7154C967FFD7F3E03D69E01158B290F415201505A3FFD0C6F0834516B1148CDF3C88F6E8BEB902427FF217EB5DE818AC62CD6C4816976D5F411FFFD1EA4AD34A522C632FE551B2FB53259FFFD2DC65EBC542EBC74A7602174E3A542EA31CD0433FFFD3F3F14F158B290F51522817617A',
  '7E7E01001234567812343601031600D006A92CFFD4C2F0BA31D6AD183284472CF9EF946503FEFA65AF465538F4AC61A9B3240BEA29C16B4259FFD5EBF6534AD245D88D978E462A375C723A5311FFD6E8197D6A274A77EC0C8197039A81D69EE433FFD7E007A53C0AC5968900E6A451D2A4A47FFFD0E6B4A1236A368919396BA87383D84AA4FF002AF524526B286C6AD12007D69C0679E78AD047FFD1ED0AF3E83F953197B5058C65A8980F4A04CFFFD2E918542E3231548190B8EB5038CD3F521AE87FFFD3E1E3B3B871F2C321FF00809ABB1683A948015B39307A12315932D1760F09EA9228263451E8CD8ABF6FE09BB71992E238CFA0E6972948FFD4B3A4F8412C6E62B97BA6678D830555C03F9D7508175A3C',
  '7E7E01001234567812343601031600D007B8E833CD6518D99B3772403B7E54EC77E715A224FFD5EDF6D34AF63458B18577703AD5679E05620CD1823A8DC38A76BE827A1FFFD6E8E4BAB644DED3478E9C364FE42A9CBAA58A0F9E7001E3EEB7F855D84DA281D76D5A56884731DAA087C0C3673D39CF18F4EF4926A5132FEEE372DE8D803FAD3488723FFFD7AD61A8DA69A9E5DE5E5ADB46DCC625915327F8B19EBFC3535CF8C7C3D62019B57B66DDD3C96F34FF00E399C7E3555E36A8D0A9CBDD444DF11FC2D1C6EE351691946422C1265BD86540FCC8AA89F177C3E082D69A9E3DA28FFF008BACECCBBA3FFFD0C29FE32C69338B5D0A59611CA3C9701188C75202B01F99A82EBE32EA570231A66896F01F178FF3',
  '7E7E01001234567812343601031600D008E333CAD36EF4C60263F5A4AC86E7D87A7C4CF16CD6E5FF00B2ED111C61664B790E0FB12C467EA0D69683E2BD7E7B7717B74C64439DED0C6A587D028E9F4A1684B9B6CFFFD11B5EB8790BBDD5C12DD76E540FC381F953A4D69D94C6EF3C8BE85B8FE755CC88D58E86F6395D630AC0907AE302A66AA52B92D58FFFD29243E959F7E4ED4E7F8FFA1AD8C595D0F3EE6AC46DC0EF5223FFD3E2F5BD0A6D6ED6DE6F35CCC92B291B7236E01CF1F4ACF4F02B9032D719FF00AE75D18C5CB57D4C68B6E2695BF8063310592D59DBBB0936E7F0CD6A69FE0486205FEC7082C36959887FC7A115C6E46EA2CFFFD4C66F0A5BD8CF1836D000C0B065C9C107E9EFEBEBE95B4917F958',
  '7E7E01001234567812343601031600D009E1A4B9D93BCA85DC02C4C3938F4CE6B2E66D96A9E85C8FC3566836ABCCA3A000A8C7E95663D06C9102B46D21C7DE6720FE9814D6A3E547FFD5AFE248AE34E28DA45B8612DBDC2F31893F7C36F9606ECE0F0FC7D6B3D9754932EF24690AB2CE19235493CA23CA203280C0F9849EBDA924293B1B9A0596A16D697C9A85CB5D3C691DAEE924662AF133176193FC40A8FC3D8548CD571D1B42934D267FFFD6576ACFD40BF90CC8A19D79505B009F735AB3128A5D117090B464332B36410460151F5FE2F4AB30DD44FB46FDA5C654382AC7F03CD242B1FFD7CBB197CBB9108FBAC99FC6B5D0FB575661F1C7D3F566587D9FA9623156A3AE0B1D48FFD09FC45B3FB3821725AF',
  '7E7E01001234567812343601031600D00ACB38B74328265F3026DC027EF1E95A1A4CE6E6C629B746C08214C64152A0900823AE401CD676EA6B7B68682A67B66AC02A50288D4119C9E726A920B9FFD1BDE2BBA6D3974B951576FF0068A9208EB88E46FE62B853A8DE8D3E27760545B5A47B56552799CB1F941CE0FAF4F7CD16EC12B5CE8BC317935CDCDCC0F3798EEB76E88338256551F9F2055C671550D0991FFFD28DDAA95E37EE8FE1FCEB432654400C81C81900807BF38FF0AB51E1B83C834893FFD3C481F6DF5A31380CA47E9FFD7ADE8FE95D9982B4A2FF00ADCC70EF468B31F6AB512922B86D73A51FFFD4B5E26B36BAD02F6348D6494C2C2207FBC4151FCC8FC6AC785210BA25A5BE1D6482258E173D62',
  '7E7E01001234567812343601031600D00B5571CAB6D048CF7EBD6A515D6E6E24400E58FE54A854B85DD83E95A24173FFD5DBF17594136942E6690A1B39D248FB02CC7CB03F290FE95C5FF6768DA74660966329822B988BEEEAB6C018DBD3EFB1354EC9EA4CAF7D0E8BC330E950DFDCCB1801D123551B49F9A5F2CC9F9BE2A93BF14D5AC277B6A7FFD6AB2498AA578E4C4703B8FE756CC8AD1B64D5A89B06857133FFD7C08C8FB4D93386D818AE47AF6FE55D0C5927AD7A1986D1F9FE87361FA972202ADC5E99AF391D47FFD0DEB9B46BCB668524F2C920861CF420E3F1C62ADE9B6724285657492577DCDE5C7B41CF4C0C9ED81D4F4AB8C535715DDCB515DD896656BDB7051B6B0694020F707D2A86ED1D171675',
  '7E7E01001234567812343601031600D00C35BFB64F7CDBEDD0C68225664F9B058E40F9B8503838E4E73C62B55AA149AEA7FFD1DFF135EE9FACE9F71A7472CE885E375B8488153B5D5F80483DB1CE2B8D8BC37A721B917F753DE2C8D2EC789960C2CA417057E7EE3839AD2493D48E62FE96965A2CF34F6D1B4CD248AE1AE246660171B47CBB47185E719E0557792968847FFFD2CC7909EF54EEA50B13963800679ED55733B102C982BEF56E17C77A1324FFD3E5E7B99122830490B32B7D319A48FC6D0BCA523319EDB4C6C4FF004AF431FBAF9FE872D07A32C9F15CEEA9865846EC6428E7DB926A09FC6D7F13BC382C840F9810ADFA0E3F035E7DEC6DCC7FFFD4E567F196A41B646EE060ABF992B36E047D17A521',
  '7E7E01001234567812343600F41600D00D471F9D49A5EB66783C8548A268DB01635C2840063033F5FD28E633EA692DE4C41064FC860FE7522CEE461A4623D09AAB81FFD5A1E66697CCF7AA331AD27151349C52B81FFFD6C4792AB4AFC1A0CCA4B22ABAE72BB5B231D3A63FAF6ABF0CA0E39EB4D324FFD7E5655DF01C7A83FAD615B5BDAD9CD2290A240C5031392D5E96395ECFCCE3A2FA162E59552197F78019002147DEC838CE6AB6A23F7A8C3FBBFE35E63DCDCFFFD0F2F0DDB356F4694A6A3807865C7E87FF00AD48C8E995F1D2A457A2E33FFFD1C70F4A64C77A0CC6993DE98589A407FFD2E7C8623A544D193458C8AD25A67914C43243F4FD0D023FFFD900B703CBF6',
]

// [std] table 16 + §6.6.2.1 + table 32 (定时报): ASCII, centre 05, station 0011223344, password
// 03E8, fn 32, upward length 047H = 71 characters, STX, body (every group ends in a space), ETX, CRC.
const STD_ASCII_TIMED =
  '\x0105001122334403E8320047\x020034170718110016ST 0011223344 H TT 1707181100 Z 10.490 PJ 4.0 VT 10.99 \x033C8F'
// [std] table 16 + table 30 + §6.6.4.4 (均匀时段报, 31H), ASCII: DRN05 (table C.2), two identifiers,
// then value groups in time order; M where a value is missing (§6.6.4.4 d).
const STD_ASCII_INTERVAL =
  '\x0105001122334403E8310053\x020035170718101500ST 0011223344 H TT 1707181000 DRN05 Z PJ 10.490 4.0 10.500 M M 4.5 \x03B573'
// [std] table 20 + table 30 + §6.6.4.4 b, d (HEX: one element), table C.3 (0418H dhm = 00 00 05):
// Z (39H, definition 23H = 4 bytes, 3 decimals) every 5 minutes from 10:00, the third all F.
const STD_HEX_INTERVAL =
  '7E7E05001122334403E831002E02 0036 170718101500 F1F1 0011223344 48 F0F0 1707181000 0418 000005 3923 00010490 00010500 FFFFFFFF 00010510 03 C0C5'
// [std] §6.6.3.3 a + table 26 (definition counts the sign byte): AI N(3,1) −5.6 → FF0 056 (3 bytes,
// 19H), Z N(7,3) −1.234 → FF0 0001234 (5 bytes, 2BH), H N(6,2) −1.23 → FF 000123 (4 bytes, 22H).
const STD_HEX_NEGATIVE =
  '7E7E05001122334403E832002902 0037 170718110500 F1F1 0011223344 48 F0F0 1707181105 0219 FF0056 392B FF00001234 0E22 FF000123 03 44B4'
// [std] table 21 (downlink: station address before the centre's, direction 8, EOT) with the
// confirmation body of table 33 (serial 0034H, the centre's clock).
const STD_HEX_ACK = '7E7E 0011223344 05 03E8 32 8008 02 0034 170718110020 04 8D82'
// [std] table 17, the same confirmation in ASCII.
const STD_ASCII_ACK = '\x0100112233440503E8328010\x020034170718110020\x04859C'

describe('CRC-16 (table 11: X16+X15+X2+1, high byte first)', () => {
  test.each([
    // [yu] CrcUtilTest.java calcCrc16_1, _2, _3: the bytes before the CRC and the CRC expected.
    ['7E7E01001234567812342F000802000359101115511103', 0x6bca],
    ['7E7E00987654321012342F0008027E0822101110074703', 0xc3ae],
    [
      '7E7E05001122334403E832002B020034170718110016F1F1001122334448F0F01707181100201900004026190000403923000104903812109903',
      0xa421,
    ],
    // [hw] Crc16Util.java main(): dataStr1 → "83 97".
    [HW.slice(0, -6), 0x8397],
  ])('%s → %s', (data, crc) => {
    expect(crc16(hexBytes(data))).toBe(crc)
  })

  test('start and end select the bytes', () => {
    // [yu] CrcUtilTest calcCrc16_1 inside a larger buffer.
    const b = Buffer.concat([hexBytes('AABB'), hexBytes(YU.keepAlive), hexBytes('CC')])
    expect(crc16(b, 2, 2 + 23)).toBe(0x6bca)
  })
})

describe('HEX/BCD frames of public implementations', () => {
  test('[yu] 2FH keep-alive: header fields, serial and send time, no observations (table 27)', () => {
    const f = onlyFrame(hexBytes(YU.keepAlive))
    expect(f).toEqual({
      encoding: 'hex',
      direction: 'up',
      center: 1,
      address: '0012345678',
      password: '1234',
      fn: FN.keepAlive,
      body: hexBytes('0003 591011155111'),
      end: ETX,
      size: 25,
    })
    expect(decoded(f)).toEqual({
      serial: 3,
      sentAt: bj(2059, 10, 11, 15, 51, 11),
      stations: [],
      observations: [],
      problems: [],
    })
  })

  test('[yu] CrcUtilTest calcCrc16_2: a 7EH inside the body is no frame start', () => {
    const f = onlyFrame(hexBytes(YU_CRC2))
    expect(f).toMatchObject({ center: 0, address: '9876543210', password: '1234', fn: 0x2f })
    expect(decoded(f)).toMatchObject({ serial: 0x7e08, sentAt: bj(2022, 10, 11, 10, 7, 47) })
  })

  test('[yu] 30H test report (table 28)', () => {
    const f = onlyFrame(hexBytes(YU.test))
    expect(f).toMatchObject({ center: 1, address: '0012345678', password: '1234', fn: FN.test })
    const at = bj(2059, 10, 11, 15, 49)
    expect(decoded(f)).toEqual({
      serial: 3,
      sentAt: bj(2059, 10, 11, 15, 49, 47),
      stations: [{ address: '0012345678', category: 'H' }],
      observations: [
        obs('0012345678', 'PJ', at, 0.5),
        obs('0012345678', 'PT', at, 0.5),
        obs('0012345678', 'Z', at, 0.127),
        obs('0012345678', 'VT', at, 11.15),
      ],
      problems: [],
    })
  })

  test.each([
    // [yu] 32H timed (table 32) and 33H added (加报) reports, same station and elements.
    ['timed', FN.timed, 0x34, bj(2017, 7, 18, 11, 0, 16), bj(2017, 7, 18, 11, 0), 10.99],
    ['added', FN.added, 0x26, bj(2017, 7, 18, 10, 22, 2), bj(2017, 7, 18, 10, 22), 11.02],
  ] as const)('[yu] %s report', (key, fn, serial, sentAt, at, vt) => {
    const f = onlyFrame(hexBytes(YU[key]))
    expect(f).toMatchObject({
      encoding: 'hex',
      direction: 'up',
      center: 5,
      address: '0011223344',
      password: '03E8',
      fn,
      end: ETX,
    })
    expect(decoded(f)).toEqual({
      serial,
      sentAt,
      stations: [{ address: '0011223344', category: 'H' }],
      observations: [
        obs('0011223344', 'PJ', at, 4),
        obs('0011223344', 'PT', at, 4),
        obs('0011223344', 'Z', at, 10.49),
        obs('0011223344', 'VT', at, vt),
      ],
      problems: [],
    })
  })

  test('[yu] 34H hourly report: F4H 5-minute rainfall and F5H relative stage, FFH/FFFFH missing', () => {
    const f = onlyFrame(hexBytes(YU.hourly))
    expect(f).toMatchObject({ fn: FN.hourly, address: '0011223344', size: 121 })
    const st = '0011223344'
    const first = bj(2017, 7, 18, 10, 5)
    const hour = bj(2017, 7, 18, 11, 0)
    const gap = [null, null, null, null, null]
    expect(decoded(f)).toEqual({
      serial: 0x33,
      sentAt: bj(2017, 7, 18, 11, 0, 14),
      stations: [{ address: st, category: 'H' }],
      observations: [
        ...every5(st, 'DRP', first, [0.5, 0, 0, 0, 2, ...gap, 0, 0]),
        obs(st, 'PT', hour, 4),
        ...every5(st, 'DRZ1', first, [0.12, 0.12, 0.28, 0.49, 0.49, ...gap, 0.49, 0.49]),
        obs(st, 'Z', hour, 10.49),
        obs(st, 'PJ', hour, 4),
        obs(st, 'VT', hour, 10.99),
      ],
      problems: [],
    })
    // The 12th 5-minute value ends on the hour the report is for.
    expect(first + 11 * 300_000).toBe(hour)
  })

  test('[yu] 37H real-time query answer', () => {
    const f = onlyFrame(hexBytes(YU.realtime))
    const at = bj(2059, 10, 11, 16, 14)
    expect(decoded(f)).toMatchObject({
      serial: 9,
      sentAt: bj(2059, 10, 11, 16, 14, 3),
      observations: [
        obs('0012345678', 'PJ', at, 1.5),
        obs('0012345678', 'PT', at, 1.5),
        obs('0012345678', 'Z', at, 0.122),
        obs('0012345678', 'VT', at, 11.08),
      ],
      problems: [],
    })
  })

  test('[yu] 38H period query answer: time step 000005 then a DRP hour', () => {
    const f = onlyFrame(hexBytes(YU.period))
    expect(f.fn).toBe(FN.period)
    expect(decoded(f)).toEqual({
      serial: 0x35,
      sentAt: bj(2017, 7, 18, 11, 1, 28),
      stations: [{ address: '0011223344', category: 'H' }],
      observations: every5('0011223344', 'DRP', bj(2017, 7, 18, 10, 5), [
        0.5,
        0,
        0,
        0,
        2,
        null,
        null,
        null,
        null,
        null,
        0,
        0,
      ]),
      problems: [],
    })
  })

  test('[yu] 39H manual-entry query answer: F2F2H, the entry to the end of the body', () => {
    // Its CRC 46AAH is right (checked independently), though the repository marks it hand-made.
    const f = onlyFrame(hexBytes(YU.manualQuery))
    expect(decoded(f)).toEqual({
      serial: 0x14,
      sentAt: bj(2017, 7, 18, 10, 6, 30),
      stations: [],
      observations: [],
      problems: [],
      manual: 'Q 1.234',
    })
  })

  test('[yu] 35H manual report: its hand-made CRC is refused; re-created with the right CRC it reads', () => {
    const wire = hexBytes(YU.manual)
    const [first, ...rest] = readStream(wire)
    expect(problemOf(first)).toEqual({ reason: 'bad_crc', detail: 'CRC 4602H, computed D76FH', bytes: 1 })
    // What follows is the refused frame's bytes, reported as problems; every byte is accounted for.
    expect(rest.every((x) => 'problem' in x)).toBe(true)
    expect([first, ...rest].reduce((n, x) => n + problemOf(x).bytes, 0)).toBe(wire.length)

    const remade = encodeFrame({
      encoding: 'hex',
      direction: 'up',
      center: 1,
      address: '0012345678',
      password: '1234',
      fn: FN.manual,
      body: hexBytes('0004 591011155145 F2F2 51312E323334 20'),
      end: ETX,
    })
    expect(remade.subarray(0, -2)).toEqual(wire.subarray(0, -2))
    expect(remade.subarray(-2)).toEqual(hexBytes('D76F'))
    expect(decoded(onlyFrame(remade))).toEqual({
      serial: 4,
      sentAt: bj(2059, 10, 11, 15, 51, 45),
      stations: [],
      observations: [],
      problems: [],
      manual: 'Q1.234 ',
    })
  })

  test('[hw] dataStr1: a timed report with PN05', () => {
    const f = onlyFrame(hexBytes(HW))
    expect(f).toMatchObject({ center: 1, address: '0010100001', password: 'A000', fn: FN.timed })
    const at = bj(2020, 7, 24, 17, 23)
    expect(decoded(f)).toEqual({
      serial: 12,
      sentAt: bj(2020, 7, 24, 17, 23, 49),
      stations: [{ address: '0010100001', category: 'H' }],
      observations: [
        obs('0010100001', 'PJ', at, 13),
        obs('0010100001', 'PN05', at, 4),
        obs('0010100001', 'Z', at, 0.55),
        obs('0010100001', 'VT', at, 12.68),
      ],
      problems: [],
    })
  })

  test('every good frame re-encodes to the same bytes', () => {
    for (const h of [...Object.values(YU).filter((h) => h !== YU.manual), YU_CRC2, HW, ...YU_PICTURE]) {
      const wire = hexBytes(h)
      expect(encodeFrame(toSend(onlyFrame(wire)))).toEqual(wire)
    }
  })

  test('[yu] 36H picture in 13 M3 packets: SYN, packet total 13 and each number, ETB until the last', () => {
    const stream = Buffer.concat(YU_PICTURE.map(hexBytes))
    // In 7-byte chunks, as TCP might cut it.
    const chunks: Buffer[] = []
    for (let i = 0; i < stream.length; i += 7) chunks.push(stream.subarray(i, i + 7))
    const frames = readStream(...chunks).map(frameOf)
    expect(frames.map((f) => f.packet)).toEqual(
      Array.from({ length: 13 }, (_, i) => ({ total: 13, seq: i + 1 })),
    )
    expect(frames.map((f) => f.end)).toEqual([...Array<number>(12).fill(ETB), ETX])
    expect(frames.every((f) => f.fn === 0x36 && f.address === '0012345678')).toBe(true)
    // Only the first packet has the serial and send time (§6.6.2.4), then ST, TT and F3F3H + JPEG SOI.
    expect(frames[0]!.body.subarray(0, 29)).toEqual(
      hexBytes('0005 591011161118 F1F1 0012345678 48 F0F0 5910111611 F3F3 FFD8FFE0'),
    )
    expect(frames.map((f) => f.body.length)).toEqual([281, ...Array<number>(11).fill(256), 241])
  })
})

describe("frames written down from the standard's structure tables", () => {
  test('[std] table 16: an ASCII timed report', () => {
    const wire = latin1(STD_ASCII_TIMED)
    const f = onlyFrame(wire)
    expect(f).toEqual({
      encoding: 'ascii',
      direction: 'up',
      center: 5,
      address: '0011223344',
      password: '03E8',
      fn: FN.timed,
      body: latin1('0034170718110016ST 0011223344 H TT 1707181100 Z 10.490 PJ 4.0 VT 10.99 '),
      end: ETX,
      size: wire.length,
    })
    expect(wire[0]).toBe(SOH)
    const at = bj(2017, 7, 18, 11, 0)
    expect(decoded(f)).toEqual({
      serial: 0x34,
      sentAt: bj(2017, 7, 18, 11, 0, 16),
      stations: [{ address: '0011223344', category: 'H' }],
      observations: [
        obs('0011223344', 'Z', at, 10.49),
        obs('0011223344', 'PJ', at, 4),
        obs('0011223344', 'VT', at, 10.99),
      ],
      problems: [],
    })
    expect(encodeFrame(toSend(f))).toEqual(wire)
  })

  test('[std] table 30, §6.6.4.4: an ASCII interval report, DRN05, two elements, M missing', () => {
    const f = onlyFrame(latin1(STD_ASCII_INTERVAL))
    expect(f.fn).toBe(FN.interval)
    const t0 = bj(2017, 7, 18, 10, 0)
    expect(decoded(f)).toEqual({
      serial: 0x35,
      sentAt: bj(2017, 7, 18, 10, 15),
      stations: [{ address: '0011223344', category: 'H' }],
      observations: [
        obs('0011223344', 'Z', t0, 10.49),
        obs('0011223344', 'Z', t0 + 300_000, 10.5),
        obs('0011223344', 'Z', t0 + 600_000, null),
        obs('0011223344', 'PJ', t0, 4),
        obs('0011223344', 'PJ', t0 + 300_000, null),
        obs('0011223344', 'PJ', t0 + 600_000, 4.5),
      ],
      problems: [],
    })
  })

  test('[std] table 30, table C.3: a HEX interval report, 0418H 000005, one element, all-F missing', () => {
    const wire = hexBytes(STD_HEX_INTERVAL)
    const f = onlyFrame(wire)
    const t0 = bj(2017, 7, 18, 10, 0)
    expect(decoded(f).observations).toEqual([
      obs('0011223344', 'Z', t0, 10.49),
      obs('0011223344', 'Z', t0 + 300_000, 10.5),
      obs('0011223344', 'Z', t0 + 600_000, null),
      obs('0011223344', 'Z', t0 + 900_000, 10.51),
    ])
    expect(encodeFrame(toSend(f))).toEqual(wire)
  })

  test('[std] §6.6.3.3 a: negative BCD values, FF before even digit counts, FF0 before odd ones', () => {
    const f = onlyFrame(hexBytes(STD_HEX_NEGATIVE))
    const at = bj(2017, 7, 18, 11, 5)
    expect(decoded(f).observations).toEqual([
      obs('0011223344', 'AI', at, -5.6),
      obs('0011223344', 'Z', at, -1.234),
      obs('0011223344', 'H', at, -1.23),
    ])
    // The encoder writes the same bytes (the definition byte counting the sign byte, table 26).
    const body = encodeReport(
      'hex',
      {
        serial: 0x37,
        sentAt: bj(2017, 7, 18, 11, 5),
        stations: [
          {
            address: '0011223344',
            category: 'H',
            groups: [
              {
                observedAt: at,
                elements: [
                  { id: 'AI', value: -5.6 },
                  { id: 'Z', value: -1.234 },
                  { id: 'H', value: -1.23 },
                ],
              },
            ],
          },
        ],
      },
      BJ,
    )
    expect(body).toEqual(f.body)
  })

  test.each([
    // [std] §6.6.3.3 a by hand: readBcd(bytes, decimals).
    ['FF0056', 1, -5.6],
    ['FF00001234', 3, -1.234],
    ['FF000123', 2, -1.23],
    ['00010490', 3, 10.49],
    ['FFFFFFFF', 3, null],
    ['0001A490', 3, 'bad'],
    ['FF01F3', 2, 'bad'],
  ] as const)('readBcd %s, %d decimals → %s', (h, decimals, value) => {
    const b = hexBytes(h)
    expect(readBcd(b, 0, b.length, decimals)).toBe(value)
  })

  test('[std] §6.6.2.7: a HEX body of two stations; a new ST group needs its own time group', () => {
    const body = hexBytes(
      '0040 170718110000' +
        'F1F1 0011223344 48 F0F0 1707181100 3923 00010490' + // station 1, river (H), Z 10.49
        'F1F1 0011223355 50 2019 000040 F0F0 1707181055 2019 000015', // station 2, rain (P): PJ before TT
    )
    const r = decodeBody('hex', FN.timed, body, '0011223344', BJ)
    expect(r).toEqual({
      ok: true,
      report: {
        serial: 0x40,
        sentAt: bj(2017, 7, 18, 11, 0),
        stations: [
          { address: '0011223344', category: 'H' },
          { address: '0011223355', category: 'P' },
        ],
        observations: [
          obs('0011223344', 'Z', bj(2017, 7, 18, 11, 0), 10.49),
          obs('0011223355', 'PJ', bj(2017, 7, 18, 10, 55), 1.5),
        ],
        problems: [
          {
            reason: 'no_time',
            station: '0011223355',
            element: 'PJ',
            detail: 'an element group before any observation time group (F0F0H / TT)',
          },
        ],
      },
    })
  })

  test('[std] §6.6.2.7: an ASCII body of two stations', () => {
    const body = latin1(
      '0040170718110000ST 0011223344 H TT 1707181100 Z 10.490 ST 0011223355 P TT 1707181055 PJ 1.5 ',
    )
    const r = decodeBody('ascii', FN.timed, body, '0011223344', BJ)
    expect(r.ok && r.report.stations).toEqual([
      { address: '0011223344', category: 'H' },
      { address: '0011223355', category: 'P' },
    ])
    expect(r.ok && r.report.observations).toEqual([
      obs('0011223344', 'Z', bj(2017, 7, 18, 11, 0), 10.49),
      obs('0011223355', 'PJ', bj(2017, 7, 18, 10, 55), 1.5),
    ])
  })

  test.each([
    // [std] table 21 (HEX) and table 17 (ASCII): the centre's confirmation of serial 0034H.
    ['hex', hexBytes(STD_HEX_ACK)],
    ['ascii', latin1(STD_ASCII_ACK)],
  ] as const)('[std] a %s downlink confirmation: station before centre, direction 8, EOT', (enc, wire) => {
    const sent = encodeFrame({
      encoding: enc,
      direction: 'down',
      center: 5,
      address: '0011223344',
      password: '03E8',
      fn: FN.timed,
      body: encodeAck(enc, 0x34, bj(2017, 7, 18, 11, 0, 20), BJ),
      end: EOT,
    })
    expect(sent).toEqual(wire)
    const f = onlyFrame(sent)
    expect(f).toMatchObject({
      encoding: enc,
      direction: 'down',
      center: 5,
      address: '0011223344',
      password: '03E8',
      fn: FN.timed,
      end: EOT,
    })
    // The confirmation body is serial and send time, as a keep-alive's is.
    expect(decoded(f)).toMatchObject({ serial: 0x34, sentAt: bj(2017, 7, 18, 11, 0, 20) })
  })
})

describe('a byte stream: corruption, truncation, garbage, resynchronisation', () => {
  const timed = () => hexBytes(YU.timed) // [yu] 32H
  const keepAlive = () => hexBytes(YU.keepAlive) // [yu] 2FH
  const asciiTimed = () => latin1(STD_ASCII_TIMED) // [std] table 16

  /** Every byte of the stream is in a frame or in a problem's count. */
  const accounted = (results: ReadResult[]) =>
    results.reduce((n, x) => n + ('frame' in x ? x.frame.size : x.problem.bytes), 0)

  test('a bad HEX CRC is refused, and the good frame after it is read', () => {
    const bad = timed()
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0x01, bad.length - 1)
    const results = readStream(Buffer.concat([bad, keepAlive()]))
    expect(problemOf(results[0])).toEqual({
      reason: 'bad_crc',
      detail: 'CRC A420H, computed A421H',
      bytes: 1,
    })
    expect(frameOf(results.at(-1)).fn).toBe(FN.keepAlive)
    expect(results.filter((x) => 'frame' in x)).toHaveLength(1)
    expect(accounted(results)).toBe(bad.length + 25)
  })

  test('a corrupted body byte (bad CRC) does not swallow the frame after it', () => {
    const bad = timed()
    bad.writeUInt8(bad.readUInt8(40) ^ 0x10, 40) // inside Z's value
    const results = readStream(Buffer.concat([bad, timed()]))
    expect(problemOf(results[0]).reason).toBe('bad_crc')
    expect(decoded(frameOf(results.at(-1))).serial).toBe(0x34)
    expect(accounted(results)).toBe(2 * bad.length)
  })

  test('a bad ASCII CRC, and ASCII CRC characters that are not hex digits', () => {
    const wrong = asciiTimed()
    wrong[wrong.length - 1] = 0x30 // …3C80 instead of …3C8F
    expect(problemOf(readStream(wrong)[0])).toEqual({
      reason: 'bad_crc',
      detail: 'CRC 3C80H, computed 3C8FH',
      bytes: 1,
    })
    const notHex = asciiTimed()
    notHex[notHex.length - 2] = 0x5a // 'Z'
    expect(problemOf(readStream(notHex)[0]).reason).toBe('bad_crc')
    // Then the next frame is read.
    expect(frameOf(readStream(Buffer.concat([notHex, asciiTimed()])).at(-1)).encoding).toBe('ascii')
  })

  test.each([
    ['HEX', timed()],
    ['ASCII', asciiTimed()],
  ])('a %s frame cut short: nothing yet, then flush() reports it truncated', (_, wire) => {
    const r = new FrameReader()
    r.push(wire.subarray(0, 30))
    expect(r.read()).toBeUndefined()
    expect(r.pending).toBe(30)
    expect(r.flush()).toEqual({
      reason: 'truncated',
      detail: 'the stream ended 30 bytes into a frame',
      bytes: 30,
    })
    expect(r.pending).toBe(0)
    expect(r.flush()).toBeUndefined()
    // The reader starts afresh.
    r.push(wire)
    expect(frameOf(r.read()).fn).toBe(FN.timed)
  })

  test.each([
    ['HEX', hexBytes(YU.hourly)],
    ['ASCII', latin1(STD_ASCII_TIMED)],
  ])('a %s frame pushed one byte at a time decodes once its last byte is in', (_, wire) => {
    const r = new FrameReader()
    for (let i = 0; i < wire.length - 1; i++) {
      r.push(wire.subarray(i, i + 1))
      expect(r.read()).toBeUndefined()
    }
    r.push(wire.subarray(-1))
    const f = frameOf(r.read())
    expect(f.body).toEqual(onlyFrame(wire).body)
    expect(r.read()).toBeUndefined()
    expect(r.pending).toBe(0)
  })

  test('a declared body above maxBody is refused at once, without waiting for it', () => {
    const hourly = hexBytes(YU.hourly) // body 068H = 104 bytes
    const r = new FrameReader({ maxBody: 100 })
    r.push(hourly.subarray(0, 14)) // the header and STX only
    expect(problemOf(r.read())).toEqual({
      reason: 'oversized',
      detail: 'declared body of 104 bytes exceeds the limit of 100',
      bytes: 1,
    })
    const fits = new FrameReader({ maxBody: 104 })
    fits.push(hourly)
    expect(frameOf(fits.read()).body).toHaveLength(104)
  })

  test('garbage before and between frames, a stray 01H and a single 7EH in it', () => {
    const results = readStream(
      Buffer.concat([
        latin1('AT+OK\r\n'),
        keepAlive(),
        hexBytes('00 01 58 FF'), // 01H then 'X': not an ASCII header
        timed(),
        hexBytes('7E 42 7E'), // single 7EHs
        asciiTimed(),
      ]),
    )
    expect(
      results.map((x) => ('frame' in x ? `frame ${x.frame.fn.toString(16)}` : x.problem.reason)),
    ).toEqual(['garbage', 'frame 2f', 'garbage', 'bad_header', 'garbage', 'frame 32', 'garbage', 'frame 32'])
    expect(problemOf(results[0]).bytes).toBe(7)
    expect(problemOf(results[3]).detail).toBe('ASCII header character 1 is not a hex digit')
    expect(problemOf(results[6]).bytes).toBe(3)
  })

  test('a stray 7EH right before a frame: 7E 7E 7E … still yields the frame', () => {
    const results = readStream(Buffer.concat([hexBytes('55 7E'), timed()]))
    expect(results.map((x) => ('frame' in x ? 'frame' : x.problem.reason))).toEqual([
      'garbage',
      'bad_header',
      'frame',
    ])
    expect(decoded(frameOf(results[2])).serial).toBe(0x34)
  })

  test('a 7EH at the end of a chunk is kept: it may be half of the next start marker', () => {
    const wire = timed()
    const r = new FrameReader()
    r.push(Buffer.concat([latin1('xx'), wire.subarray(0, 1)]))
    expect(problemOf(r.read())).toEqual({ reason: 'garbage', detail: 'bytes outside any frame', bytes: 2 })
    expect(r.read()).toBeUndefined()
    expect(r.pending).toBe(1)
    r.push(wire.subarray(1))
    expect(frameOf(r.read()).size).toBe(wire.length)
  })

  test('a bad direction nibble (neither 0 nor 8) is refused, in both encodings', () => {
    const hex = timed()
    hex[11] = 0x40 // 402BH
    expect(problemOf(readStream(hex)[0])).toEqual({
      reason: 'bad_header',
      detail: 'direction 4H is neither 0 (up) nor 8 (down)',
      bytes: 1,
    })
    const ascii = asciiTimed()
    ascii[19] = 0x34 // '4047'
    expect(problemOf(readStream(ascii)[0]).detail).toBe('direction 4H is neither 0 (up) nor 8 (down)')
  })

  test('length 0 (table 20: 0001–4095), a wrong start character, a wrong end character', () => {
    const empty = encodeFrame({ ...toSend(onlyFrame(keepAlive())), body: Buffer.alloc(0) })
    expect(problemOf(readStream(empty)[0])).toEqual({
      reason: 'bad_header',
      detail: 'declared length 0 leaves no body',
      bytes: 1,
    })
    const noStx = timed()
    noStx[13] = 0x00
    expect(problemOf(readStream(noStx)[0]).reason).toBe('bad_header')
    const shortLength = timed()
    shortLength[12] = 0x2a // one byte short: the last body byte 99H lands where ETX should be
    expect(problemOf(readStream(shortLength)[0])).toEqual({
      reason: 'bad_end',
      detail: 'byte 99H where the declared length puts the end character',
      bytes: 1,
    })
    // Then the frame behind it is still found.
    expect(frameOf(readStream(Buffer.concat([shortLength, keepAlive()])).at(-1)).fn).toBe(FN.keepAlive)
  })

  test('encodeFrame refuses what cannot be sent', () => {
    const f = toSend(onlyFrame(keepAlive()))
    expect(() => encodeFrame({ ...f, body: Buffer.alloc(4096) })).toThrow(RangeError)
    expect(() => encodeFrame({ ...f, address: '12345' })).toThrow(RangeError)
  })
})

describe('bodies: what is refused, and what is still read around it', () => {
  const st = '0011223344'
  const at = bj(2017, 7, 18, 11, 0)
  // [yu] 32H body: serial 0034H, sent 170718110016, ST 0011223344 H, TT 1707181100, then elements.
  const head = '0034 170718110016 F1F1 0011223344 48 F0F0 1707181100'
  const hex = (elements: string) => decodeBody('hex', FN.timed, hexBytes(head + elements), st, BJ)
  // [std] table 16 body, ASCII.
  const asciiHead = '0034170718110016ST 0011223344 H TT 1707181100 '
  const ascii = (groups: string) => decodeBody('ascii', FN.timed, latin1(asciiHead + groups), st, BJ)

  test('a bad BCD nibble: problem bad_bcd, the other elements still decoded', () => {
    // [yu] 32H with Z's value 00010490 changed to 0001A490.
    const r = hex('2019 000040 3923 0001A490 3812 1099')
    expect(r.ok && r.report.problems).toEqual([
      { reason: 'bad_bcd', station: st, element: 'Z', detail: '0001A490 is not BCD' },
    ])
    // Refused, not taken for the missing marker: no observation of Z at all.
    expect(r.ok && r.report.observations).toEqual([obs(st, 'PJ', at, 4), obs(st, 'VT', at, 10.99)])
  })

  test('an unknown HEX guide byte is skipped by its definition byte; the elements after it are read', () => {
    // A5H is not in table C.1; definition 12H = 2 bytes (table 26). FF01H: a user-defined element,
    // its definition in the third byte (10H = 2 bytes).
    const r = hex('2019 000040 A512 1234 FF01 10 5678 3923 00010490 3812 1099')
    expect(r.ok && r.report.observations).toEqual([
      obs(st, 'PJ', at, 4),
      obs(st, 'Z', at, 10.49),
      obs(st, 'VT', at, 10.99),
    ])
    expect(r.ok && r.report.problems.map((p) => [p.reason, p.element])).toEqual([
      ['unknown_element', 'A5'],
      ['unknown_element', 'FF01'],
    ])
  })

  test('an unknown ASCII identifier is skipped with its value', () => {
    const r = ascii('Z 10.490 XYZ 12.5 VT 10.99 ')
    expect(r.ok && r.report.observations).toEqual([obs(st, 'Z', at, 10.49), obs(st, 'VT', at, 10.99)])
    expect(r.ok && r.report.problems).toEqual([
      {
        reason: 'unknown_element',
        station: st,
        element: 'XYZ',
        detail: 'XYZ is not an identifier of SL 651-2014 table C.1',
      },
    ])
  })

  test('an ASCII value that is no number: bad_number, the rest read', () => {
    const r = ascii('Z 1O.49 VT 10.99 ')
    expect(r.ok && r.report.observations).toEqual([obs(st, 'VT', at, 10.99)])
    expect(r.ok && r.report.problems.map((p) => [p.reason, p.element])).toEqual([['bad_number', 'Z']])
  })

  test('an element before any time group (§6.6.2.11): no_time, and the elements after TT are read', () => {
    const h = decodeBody(
      'hex',
      FN.timed,
      hexBytes('0034 170718110016 F1F1 0011223344 48 2019 000040 F0F0 1707181100 3923 00010490'),
      st,
      BJ,
    )
    expect(h.ok && h.report.problems.map((p) => [p.reason, p.element])).toEqual([['no_time', 'PJ']])
    expect(h.ok && h.report.observations).toEqual([obs(st, 'Z', at, 10.49)])
    const a = decodeBody(
      'ascii',
      FN.timed,
      latin1('0034170718110016ST 0011223344 H PJ 4.0 TT 1707181100 Z 10.490 '),
      st,
      BJ,
    )
    expect(a.ok && a.report.problems.map((p) => [p.reason, p.element])).toEqual([['no_time', 'PJ']])
    expect(a.ok && a.report.observations).toEqual([obs(st, 'Z', at, 10.49)])
  })

  test.each([
    // [yu] 2FH body with the month made 13 (§6.6.2.5 b: 01–12), both encodings.
    ['hex', hexBytes('0003 591311155111'), 'bad_time'],
    ['ascii', latin1('0003591311155111'), 'bad_time'],
    // Hour 24, 31 April.
    ['hex', hexBytes('0003 591011245111'), 'bad_time'],
    ['hex', hexBytes('0003 590431155111'), 'bad_time'],
    // Shorter than serial + send time (8 bytes HEX, 16 characters ASCII).
    ['hex', hexBytes('0003 5910111551'), 'truncated'],
    ['ascii', latin1('000359101115511'), 'truncated'],
    ['ascii', latin1('00G3591011155111'), 'bad_body'],
    // An observation time that is not YYMMDDHHmm.
    ['hex', hexBytes(head.replace('1707181100', '1707181160')), 'bad_time'],
    // An element that declares 4 bytes with 2 left; an element declaring no data.
    ['hex', hexBytes(head + '3923 0001'), 'truncated'],
    ['hex', hexBytes(head + '3900'), 'bad_body'],
    ['hex', hexBytes(head + '39'), 'truncated'],
  ] as const)('%s body %s → %s', (enc, body, reason) => {
    const r = decodeBody(enc, FN.timed, body, st, BJ)
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error.reason).toBe(reason)
  })

  test('times: digits ↔ epoch ms at the station offset', () => {
    expect(timeFromDigits('170718110016', BJ)).toBe(Date.UTC(2017, 6, 18, 3, 0, 16))
    expect(timeFromDigits('1707181100', BJ)).toBe(Date.UTC(2017, 6, 18, 3, 0))
    expect(timeFromDigits('1707180100', BJ)).toBe(Date.UTC(2017, 6, 17, 17, 0)) // the day before in UTC
    expect(timeFromDigits('1702290000', BJ)).toBeUndefined() // 2017 is no leap year
    expect(timeFromDigits('17071811', BJ)).toBeUndefined()
    expect(digitsFromTime(Date.UTC(2017, 6, 17, 17, 0, 5), BJ, true)).toBe('170718010005')
    expect(digitsFromTime(Date.UTC(2017, 6, 17, 17, 0, 5), BJ, false)).toBe('1707180100')
  })
})

describe('round trips: encodeReport + encodeFrame → FrameReader + decodeBody', () => {
  const header = { center: 5, address: '0011223344', password: '03E8' } as const
  const up = (encoding: 'hex' | 'ascii', fn: number, body: Buffer): Buffer =>
    encodeFrame({ encoding, direction: 'up', ...header, fn, body, end: ETX })

  /** The observations a report to encode should decode to. */
  function expected(r: ReportToEncode): Observation[] {
    const out: Observation[] = []
    for (const s of r.stations)
      for (const g of s.groups) {
        const step = (g.stepMin ?? 0) * 60_000
        for (const el of g.elements) {
          const series = el.id === 'DRP' || el.id.startsWith('DRZ') ? 300_000 : step
          const values = Array.isArray(el.value)
            ? (el.value as (number | null)[])
            : [el.value as number | null]
          values.forEach((v, i) => out.push(obs(s.address, el.id, g.observedAt + i * series, v)))
        }
      }
    // An ASCII interval report lists each element's values together (identifiers, then groups).
    return out
  }

  const rain = [0.5, 0, null, 25.4, 1.2, 0, 0, null, null, 3.1, 0.1, 0]
  const stage = [0.12, 0.12, null, 1.23, 2.55, 655.34, 0, 0.01, null, null, 0.49, 0.5]
  const hourly: ReportToEncode = {
    serial: 0x1234,
    sentAt: bj(2026, 7, 15, 9, 0, 7),
    stations: [
      {
        address: '0011223344',
        category: 'H',
        groups: [
          // Step 0 announces the hour's 5-minute series (table C.1 note g).
          {
            observedAt: bj(2026, 7, 15, 8, 5),
            stepMin: 0,
            elements: [
              { id: 'DRP', value: rain },
              { id: 'DRZ1', value: stage },
            ],
          },
          {
            observedAt: bj(2026, 7, 15, 9, 0),
            elements: [
              { id: 'Z', value: 10.49 },
              { id: 'PJ', value: null },
              { id: 'AI', value: -5.6 },
              { id: 'H', value: -1.23 },
              { id: 'PT', value: 1234.5 },
              { id: 'VT', value: 12.68 },
            ],
          },
        ],
      },
      {
        address: '0011223355',
        category: 'P',
        groups: [
          { observedAt: bj(2026, 7, 15, 8, 5), elements: [{ id: 'DRP', value: rain.slice().reverse() }] },
          { observedAt: bj(2026, 7, 15, 9, 0), elements: [{ id: 'PJ', value: 0.5 }] },
        ],
      },
    ],
  }

  test.each(['hex', 'ascii'] as const)(
    '%s: an hourly report of two stations, 12-value DRP and DRZ1, missing and negative values',
    (enc) => {
      const f = onlyFrame(up(enc, FN.hourly, encodeReport(enc, hourly, BJ)))
      expect(f).toMatchObject({ encoding: enc, ...header, fn: FN.hourly })
      expect(decoded(f)).toEqual({
        serial: 0x1234,
        sentAt: hourly.sentAt,
        stations: [
          { address: '0011223344', category: 'H' },
          { address: '0011223355', category: 'P' },
        ],
        observations: expected(hourly),
        problems: [],
      })
    },
  )

  test('ASCII step 0 is written DRH00 (table C.1 note g) and DRP stays 24 hex digits', () => {
    const text = encodeReport('ascii', hourly, BJ).toString('latin1')
    expect(text).toContain(
      'TT 2607150805 DRH00 DRP 0500FFFE0C0000FFFF1F0100 DRZ1 000C000CFFFF007B00FFFFFE00000001FFFFFFFF00310032 ',
    )
  })

  const interval = (
    stepMin: number,
    elements: ReportToEncode['stations'][number]['groups'][number]['elements'],
  ) =>
    ({
      serial: 7,
      sentAt: bj(2026, 7, 15, 10, 30, 1),
      stations: [
        {
          address: '0011223344',
          category: 'H',
          groups: [{ observedAt: bj(2026, 7, 15, 8, 0), stepMin, elements }],
        },
      ],
    }) satisfies ReportToEncode

  test('HEX interval report (31H): one element, a missing and a negative value share one definition', () => {
    const r = interval(5, [{ id: 'Z', value: [10.49, null, -0.5, 10.51, 0] }])
    const body = encodeReport('hex', r, BJ)
    // Definition 2BH: 5 bytes (the sign byte of −0.5, table 26) for every value (§6.6.4.4 d).
    expect(body.subarray(-27).toString('hex').toUpperCase()).toBe(
      '392B' + '0000010490' + 'FFFFFFFFFF' + 'FF00000500' + '0000010510' + '0000000000',
    )
    expect(decoded(onlyFrame(up('hex', FN.interval, body))).observations).toEqual(expected(r))
  })

  test('ASCII interval report (31H): two elements at DRH01, M for missing', () => {
    const r = interval(60, [
      { id: 'Z', value: [10.49, null, 10.5] },
      { id: 'PJ', value: [0, 1.5, null] },
    ])
    const body = encodeReport('ascii', r, BJ)
    expect(body.toString('latin1')).toMatch(/DRH01 Z PJ 10\.490 0\.0 M 1\.5 10\.500 M $/)
    expect(decoded(onlyFrame(up('ascii', FN.interval, body))).observations).toEqual(expected(r))
  })

  test.each(['hex', 'ascii'] as const)(
    '%s period-query answer (38H, table 45) decodes as a series',
    (enc) => {
      const r = interval(60, [{ id: 'P1', value: [0.5, 1, null, 2.5] }])
      const report = decoded(onlyFrame(up(enc, FN.period, encodeReport(enc, r, BJ))))
      expect(report.observations).toEqual(expected(r))
      expect(report.problems).toEqual([])
    },
  )

  /** M3 (table 15, tables 18 and 22): the body cut into packets, ETB on all but the last (ETX). */
  function packets(enc: 'hex' | 'ascii', fn: number, body: Buffer, size: number): Buffer[] {
    const total = Math.ceil(body.length / size)
    return Array.from({ length: total }, (_, i) =>
      encodeFrame({
        encoding: enc,
        direction: 'up',
        ...header,
        fn,
        body: body.subarray(i * size, (i + 1) * size),
        end: i + 1 < total ? ETB : ETX,
        packet: { total, seq: i + 1 },
      }),
    )
  }

  test.each([
    ['hex', 1500, 700],
    ['ascii', 400, 900],
  ] as const)(
    '%s M3: a body too long for one frame, sent in packets and put back together',
    (enc, n, size) => {
      const values = Array.from({ length: n }, (_, i) => (i % 97 === 5 ? null : Math.round(i * 7.3) / 100))
      const r = interval(5, [{ id: 'Z', value: values }])
      const body = encodeReport(enc, r, BJ)
      expect(body.length).toBeGreaterThan(enc === 'hex' ? 4095 : 2 * size)
      if (enc === 'hex') expect(() => up(enc, FN.interval, body)).toThrow(RangeError)

      const wire = packets(enc, FN.interval, body, size)
      const stream = Buffer.concat(wire)
      const chunks: Buffer[] = []
      for (let i = 0; i < stream.length; i += 333) chunks.push(stream.subarray(i, i + 333))
      const frames = readStream(...chunks).map(frameOf)
      const total = wire.length
      expect(frames.map((f) => f.packet)).toEqual(
        Array.from({ length: total }, (_, i) => ({ total, seq: i + 1 })),
      )
      // The start character is SYN; the header's length counts the packet field (tables 18, 22).
      expect(wire.map((w) => w[enc === 'hex' ? 13 : 23])).toEqual(Array<number>(total).fill(SYN))
      expect(frames.map((f) => f.end)).toEqual([...Array<number>(total - 1).fill(ETB), ETX])
      const whole = Buffer.concat(frames.sort((a, b) => a.packet!.seq - b.packet!.seq).map((f) => f.body))
      expect(whole).toEqual(body)
      const report = decoded({ ...frames[0]!, body: whole })
      expect(report.serial).toBe(7)
      expect(report.observations).toEqual(expected(r))
    },
  )

  test('a single-frame report starts with STX and has no packet field', () => {
    const w = up('hex', FN.timed, encodeReport('hex', hourly, BJ))
    expect(w[13]).toBe(STX)
    expect(onlyFrame(w).packet).toBeUndefined()
  })
})
